"""messages: an index on (status, created_at), for the replayer's pass every 2 s over the messages waiting for the
bot (kept while it was away, or left stored by an api process that died)

Revision ID: 0016_message_status_index
Revises: 0015_outage_notices
Create Date: 2026-12-07 13:00:00
"""
from alembic import op


revision = '0016_message_status_index'
down_revision = '0015_outage_notices'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_messages_status_created', 'messages', ['status', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_messages_status_created', table_name='messages')
