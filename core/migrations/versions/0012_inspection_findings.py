"""inspection_findings: an inspector's finding (theft / fault / normal) per customer, the theft model's labels

Revision ID: 0012_inspection_findings
Revises: 0011_bind_attempts
Create Date: 2026-12-07 04:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0012_inspection_findings'
down_revision = '0011_bind_attempts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'inspection_findings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('finding', sa.String(length=10), nullable=False),
        sa.Column('inspector', sa.String(length=50), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('alert_id', sa.Integer(), nullable=True),
        sa.Column('recorded_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['alert_id'], ['anomaly_alerts.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_inspection_findings_customer_id', 'inspection_findings', ['customer_id'])
    op.create_index('ix_inspection_findings_recorded_at', 'inspection_findings', ['recorded_at'])


def downgrade() -> None:
    op.drop_index('ix_inspection_findings_recorded_at', table_name='inspection_findings')
    op.drop_index('ix_inspection_findings_customer_id', table_name='inspection_findings')
    op.drop_table('inspection_findings')
