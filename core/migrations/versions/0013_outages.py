"""outages: outage events (planned / fault) with their explicit customers and their history; customers' feeder and
台区; tickets get a lifecycle (ticket_events, "open" becomes "accepted") and an optional outage event

Revision ID: 0013_outages
Revises: 0012_inspection_findings
Create Date: 2026-12-07 05:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0013_outages'
down_revision = '0012_inspection_findings'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'outage_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('start', sa.DateTime(), nullable=False),
        sa.Column('end', sa.DateTime(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('scope', sa.String(length=20), nullable=False),
        sa.Column('scope_value', sa.String(length=60), nullable=True),
        sa.Column('accounts', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=20), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_outage_events_scope', 'outage_events', ['scope', 'scope_value'])
    op.create_index('ix_outage_events_start', 'outage_events', ['start'])
    op.create_index('ix_outage_events_status', 'outage_events', ['status'])
    op.create_table(
        'outage_customers',
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['outage_events.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('event_id', 'customer_id'),
    )
    op.create_index('ix_outage_customers_customer_id', 'outage_customers', ['customer_id'])
    op.create_table(
        'outage_updates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=10), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('by', sa.String(length=50), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['outage_events.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_outage_updates_event_id', 'outage_updates', ['event_id'])
    with op.batch_alter_table('customers') as batch:
        batch.add_column(sa.Column('feeder', sa.String(length=40), nullable=True))
        batch.add_column(sa.Column('transformer_area', sa.String(length=60), nullable=True))
        batch.create_index('ix_customers_feeder', ['feeder'])
        batch.create_index('ix_customers_transformer_area', ['transformer_area'])
    with op.batch_alter_table('tickets') as batch:
        batch.add_column(sa.Column('outage_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(
            'fk_tickets_outage_id', 'outage_events', ['outage_id'], ['id'], ondelete='SET NULL'
        )
        batch.create_index('ix_tickets_outage_id', ['outage_id'])
    op.create_table(
        'ticket_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('from_status', sa.String(length=20), nullable=True),
        sa.Column('to_status', sa.String(length=20), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('by', sa.String(length=50), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_ticket_events_ticket_id', 'ticket_events', ['ticket_id'])
    # the former "open" is the lifecycle's first state, 受理; "closed" (never written so far) its last
    op.execute("UPDATE tickets SET status = 'accepted' WHERE status = 'open'")
    op.execute("UPDATE tickets SET status = 'visited' WHERE status = 'closed'")


def downgrade() -> None:
    op.execute("UPDATE tickets SET status = 'closed' WHERE status IN ('visited', 'cancelled')")
    op.execute("UPDATE tickets SET status = 'open' WHERE status <> 'closed'")
    op.drop_index('ix_ticket_events_ticket_id', table_name='ticket_events')
    op.drop_table('ticket_events')
    with op.batch_alter_table('tickets') as batch:
        batch.drop_index('ix_tickets_outage_id')
        batch.drop_constraint('fk_tickets_outage_id', type_='foreignkey')
        batch.drop_column('outage_id')
    with op.batch_alter_table('customers') as batch:
        batch.drop_index('ix_customers_transformer_area')
        batch.drop_index('ix_customers_feeder')
        batch.drop_column('transformer_area')
        batch.drop_column('feeder')
    op.drop_index('ix_outage_updates_event_id', table_name='outage_updates')
    op.drop_table('outage_updates')
    op.drop_index('ix_outage_customers_customer_id', table_name='outage_customers')
    op.drop_table('outage_customers')
    op.drop_index('ix_outage_events_status', table_name='outage_events')
    op.drop_index('ix_outage_events_start', table_name='outage_events')
    op.drop_index('ix_outage_events_scope', table_name='outage_events')
    op.drop_table('outage_events')
