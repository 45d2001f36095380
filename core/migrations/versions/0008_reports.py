"""reports: Rasa broker events (Rasa's SQLEventBroker layout) and message sentiment scores

Revision ID: 0008_reports
Revises: 0007_wechat
Create Date: 2026-11-25 03:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0008_reports'
down_revision = '0007_wechat'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.String(length=255), nullable=True),
    sa.Column('data', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('message_sentiment',
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('model', sa.String(length=80), nullable=False),
    sa.Column('scored_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message_id')
    )


def downgrade() -> None:
    op.drop_table('message_sentiment')
    op.drop_table('events')
