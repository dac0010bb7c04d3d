"""admin home: the MRR movements table (issue 31)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 21:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from webapp.models.types import UTCDateTime

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The admin-wide lists and the admin home's aggregates over every customer.
_INDEXES = (
    ('ix_subscription_start', 'subscription', ['start_date', 'id']),
    ('ix_invoice_status_due', 'invoice', ['status', 'due_date']),
    ('ix_invoice_issued', 'invoice', ['issue_date', 'id']),
    ('ix_payment_status_paid', 'payment', ['status', 'paid_on']),
    ('ix_payment_status_created', 'payment', ['status', 'created_at']),
    ('ix_payment_created', 'payment', ['created_at', 'id']),
    ('ix_credit_note_status', 'credit_note', ['status', 'currency']),
)


def upgrade() -> None:
    op.create_table(
        'mrr_movement',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('subscription_id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column('moved_on', sa.Date(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('before_num', sa.BigInteger(), nullable=False),
        sa.Column('before_den', sa.Integer(), nullable=False),
        sa.Column('after_num', sa.BigInteger(), nullable=False),
        sa.Column('after_den', sa.Integer(), nullable=False),
        sa.Column('before_amount', sa.BigInteger(), nullable=False),
        sa.Column('after_amount', sa.BigInteger(), nullable=False),
        sa.Column('estimated', sa.Boolean(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['customer.id'],
                                name=op.f('fk_mrr_movement_customer_id_customer')),
        sa.ForeignKeyConstraint(['subscription_id'], ['subscription.id'],
                                name=op.f('fk_mrr_movement_subscription_id_subscription')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mrr_movement')),
    )
    op.create_index('ix_mrr_movement_moved_on', 'mrr_movement', ['moved_on', 'currency'])
    op.create_index('ix_mrr_movement_subscription', 'mrr_movement', ['subscription_id', 'id'])
    op.create_index('ix_mrr_movement_customer', 'mrr_movement', ['customer_id', 'moved_on'])
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_index('ix_mrr_movement_customer', table_name='mrr_movement')
    op.drop_index('ix_mrr_movement_subscription', table_name='mrr_movement')
    op.drop_index('ix_mrr_movement_moved_on', table_name='mrr_movement')
    op.drop_table('mrr_movement')
