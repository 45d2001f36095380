"""demo_state: the demo seed's seed, size and the days its history covers (so it can be extended to today)

Revision ID: 0009_demo_state
Revises: 0008_reports
Create Date: 2026-12-06 18:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_demo_state'
down_revision = '0008_reports'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('demo_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('customers', sa.Integer(), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('first_day', sa.Date(), nullable=False),
    sa.Column('last_day', sa.Date(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('demo_state')
