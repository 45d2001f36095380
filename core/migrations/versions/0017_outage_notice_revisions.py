"""outage notices: a notice when a planned outage's times change (once per change: `revision`) or it is called
off, how each notice went out (`via`: WeChat message or template, widget), and restoration notices to users not
bound who reported a fault by address (no customer)

Revision ID: 0017_outage_notice_revisions
Revises: 0016_message_status_index
Create Date: 2026-12-07 16:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0017_outage_notice_revisions'
down_revision = '0016_message_status_index'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outage_notices') as batch:
        batch.add_column(sa.Column('revision', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('via', sa.String(length=10), nullable=True))
        batch.alter_column('customer_id', existing_type=sa.Integer(), nullable=True)
        batch.drop_constraint('uq_outage_notices_once', type_='unique')
        batch.create_unique_constraint('uq_outage_notices_once', ['outage_id', 'customer_id', 'kind', 'revision'])
    op.execute("UPDATE outage_notices SET via = CASE WHEN channel = 'widget' THEN 'widget' ELSE 'message' END "
               "WHERE status = 'sent'")


def downgrade() -> None:
    op.execute("DELETE FROM outage_notices WHERE kind IN ('changed', 'called_off') OR customer_id IS NULL")
    with op.batch_alter_table('outage_notices') as batch:
        batch.drop_constraint('uq_outage_notices_once', type_='unique')
        batch.create_unique_constraint('uq_outage_notices_once', ['outage_id', 'customer_id', 'kind'])
        batch.alter_column('customer_id', existing_type=sa.Integer(), nullable=False)
        batch.drop_column('via')
        batch.drop_column('revision')
