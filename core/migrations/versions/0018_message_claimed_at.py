"""messages: when the replayer claimed a message (`claimed_at`), so that a claim left by an api process that died
is taken over after the grace period instead of holding the conversation's later messages for ever

Revision ID: 0018_message_claimed_at
Revises: 0017_outage_notice_revisions
Create Date: 2026-12-07 16:30:00
"""
import datetime as dt

from alembic import op
import sqlalchemy as sa


revision = '0018_message_claimed_at'
down_revision = '0017_outage_notice_revisions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('messages', sa.Column('claimed_at', sa.DateTime(), nullable=True))
    # claims made before this column: their age counts from the upgrade
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    op.get_bind().execute(
        sa.text("UPDATE messages SET claimed_at = :now WHERE status = 'replaying'"), {"now": now}
    )


def downgrade() -> None:
    with op.batch_alter_table('messages') as batch:
        batch.drop_column('claimed_at')
