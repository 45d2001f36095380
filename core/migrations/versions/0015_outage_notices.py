"""outage notices: the outbox of proactive notices (a planned outage announced, a fault repaired), one row per
event, customer and kind

Revision ID: 0015_outage_notices
Revises: 0014_outage_contacts
Create Date: 2026-12-08 05:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0015_outage_notices'
down_revision = '0014_outage_contacts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'outage_notices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('outage_id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('recipient', sa.String(length=128), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('claim', sa.String(length=32), nullable=True),
        sa.Column('claimed_at', sa.DateTime(), nullable=True),
        sa.Column('due_at', sa.DateTime(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['outage_id'], ['outage_events.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('outage_id', 'customer_id', 'kind', name='uq_outage_notices_once'),
    )
    op.create_index('ix_outage_notices_customer_id', 'outage_notices', ['customer_id'])
    op.create_index('ix_outage_notices_due', 'outage_notices', ['status', 'due_at'])


def downgrade() -> None:
    op.drop_index('ix_outage_notices_due', table_name='outage_notices')
    op.drop_index('ix_outage_notices_customer_id', table_name='outage_notices')
    op.drop_table('outage_notices')
