"""wechat: inbound messages keyed for deduplication of WeChat's retries

Revision ID: 0007_wechat
Revises: 0006_console
Create Date: 2026-11-25 02:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_wechat'
down_revision = '0006_console'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('wechat_inbound',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedup_key', sa.String(length=200), nullable=False),
    sa.Column('openid', sa.String(length=128), nullable=False),
    sa.Column('msg_type', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.Column('retries', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name='fk_wechat_inbound_conversation_id',
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedup_key')
    )
    with op.batch_alter_table('wechat_inbound', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wechat_inbound_openid'), ['openid'], unique=False)
        batch_op.create_index(batch_op.f('ix_wechat_inbound_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_wechat_inbound_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('wechat_inbound', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wechat_inbound_created_at'))
        batch_op.drop_index(batch_op.f('ix_wechat_inbound_status'))
        batch_op.drop_index(batch_op.f('ix_wechat_inbound_openid'))
    op.drop_table('wechat_inbound')
