"""console: agents, their sessions, and the columns the console adds to conversations, handoffs, ratings

Revision ID: 0006_console
Revises: 0005_recommend
Create Date: 2026-11-24 02:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_console'
down_revision = '0005_recommend'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('agents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=50), nullable=False),
    sa.Column('display_name', sa.String(length=50), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_table('agent_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['agent_id'], ['agents.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('agent_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_sessions_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_agent_sessions_expires_at'), ['expires_at'], unique=False)

    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rating_requested_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ticket_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))
        batch_op.create_foreign_key('fk_handoffs_ticket_id', 'tickets', ['ticket_id'], ['id'])
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agent', sa.String(length=50), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.drop_column('agent')
    with op.batch_alter_table('handoffs', schema=None) as batch_op:
        batch_op.drop_constraint('fk_handoffs_ticket_id', type_='foreignkey')
        batch_op.drop_column('note')
        batch_op.drop_column('ticket_id')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('rating_requested_at')
    with op.batch_alter_table('agent_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_sessions_expires_at'))
        batch_op.drop_index(batch_op.f('ix_agent_sessions_agent_id'))
    op.drop_table('agent_sessions')
    op.drop_table('agents')
