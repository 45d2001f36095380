"""bind_attempts: every check of an account number and phone digits, so failures lock per account, per
channel user and per client address in the database (not in a conversation slot a restart resets)

Revision ID: 0011_bind_attempts
Revises: 0010_ticket_commitments
Create Date: 2026-12-07 03:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_bind_attempts'
down_revision = '0010_ticket_commitments'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'bind_attempts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_no', sa.String(length=32), nullable=False),
        sa.Column('source', sa.String(length=160), nullable=False),
        sa.Column('client', sa.String(length=64), nullable=True),
        sa.Column('ok', sa.Boolean(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_bind_attempts_account', 'bind_attempts', ['account_no', 'at'])
    op.create_index('ix_bind_attempts_source', 'bind_attempts', ['source', 'at'])
    op.create_index('ix_bind_attempts_client', 'bind_attempts', ['client', 'at'])


def downgrade() -> None:
    op.drop_index('ix_bind_attempts_client', table_name='bind_attempts')
    op.drop_index('ix_bind_attempts_source', table_name='bind_attempts')
    op.drop_index('ix_bind_attempts_account', table_name='bind_attempts')
    op.drop_table('bind_attempts')
