"""tickets.contact_by / reply_by: the times promised to the customer (a complaint: contact within 24 h, an
answer within 5 working days), so a reply promises only what a ticket records

Revision ID: 0010_ticket_commitments
Revises: 0009_demo_state
Create Date: 2026-12-07 01:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_ticket_commitments'
down_revision = '0009_demo_state'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.add_column(sa.Column('contact_by', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('reply_by', sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.drop_column('reply_by')
        batch.drop_column('contact_by')
