"""outage contacts: customers who reported an outage the bot already knew about, linked to the event instead of a
new repair ticket

Revision ID: 0014_outage_contacts
Revises: 0013_outages
Create Date: 2026-12-07 06:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0014_outage_contacts'
down_revision = '0013_outages'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'outage_contacts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('user_id', sa.String(length=128), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=True),
        sa.Column('conversation_id', sa.Integer(), nullable=True),
        sa.Column('matched_by', sa.String(length=10), nullable=False),
        sa.Column('reports', sa.Integer(), nullable=False),
        sa.Column('first_at', sa.DateTime(), nullable=False),
        sa.Column('last_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['outage_events.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('event_id', 'channel', 'user_id', name='uq_outage_contacts_user'),
    )
    op.create_index('ix_outage_contacts_event_id', 'outage_contacts', ['event_id'])


def downgrade() -> None:
    op.drop_index('ix_outage_contacts_event_id', table_name='outage_contacts')
    op.drop_table('outage_contacts')
