"""consumption anomalies: scores, references, alerts

Revision ID: 0004_anomaly
Revises: 0002
Create Date: 2026-11-24 02:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_anomaly'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('anomaly_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('window_start', sa.Date(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('window', sa.LargeBinary(), nullable=False),
    sa.Column('negatives', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('customer_id')
    )
    with op.batch_alter_table('anomaly_scores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_anomaly_scores_score'), ['score'], unique=False)

    op.create_table('anomaly_references',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customers', sa.Integer(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('anomaly_references', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_anomaly_references_created_at'), ['created_at'], unique=False)

    op.create_table('anomaly_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('dedup_key', sa.String(length=200), nullable=False),
    sa.Column('scope', sa.String(length=10), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('area', sa.String(length=50), nullable=True),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=True),
    sa.Column('period_end', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('occurrences', sa.Integer(), nullable=False),
    sa.Column('first_seen', sa.DateTime(), nullable=False),
    sa.Column('last_seen', sa.DateTime(), nullable=False),
    sa.Column('acknowledged_by', sa.String(length=50), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('dedup_key')
    )
    with op.batch_alter_table('anomaly_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_anomaly_alerts_area'), ['area'], unique=False)
        batch_op.create_index(batch_op.f('ix_anomaly_alerts_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_anomaly_alerts_scope'), ['scope'], unique=False)
        batch_op.create_index(batch_op.f('ix_anomaly_alerts_status'), ['status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('anomaly_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_anomaly_alerts_status'))
        batch_op.drop_index(batch_op.f('ix_anomaly_alerts_scope'))
        batch_op.drop_index(batch_op.f('ix_anomaly_alerts_customer_id'))
        batch_op.drop_index(batch_op.f('ix_anomaly_alerts_area'))
    op.drop_table('anomaly_alerts')
    with op.batch_alter_table('anomaly_references', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_anomaly_references_created_at'))
    op.drop_table('anomaly_references')
    with op.batch_alter_table('anomaly_scores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_anomaly_scores_score'))
    op.drop_table('anomaly_scores')
