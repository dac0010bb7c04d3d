"""indexes for the tick's due queries and held invoices

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 05:29:10.206660
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.create_index('ix_invoice_pending_payment', ['pending_payment_id'], unique=False, sqlite_where=sa.text('pending_payment_id IS NOT NULL'), postgresql_where=sa.text('pending_payment_id IS NOT NULL'))

    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.create_index('ix_payment_pending_created', ['created_at', 'id'], unique=False, sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))

    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.create_index('ix_subscription_status_next_billing', ['status', 'next_billing_date'], unique=False)
        batch_op.create_index('ix_subscription_status_pause_on', ['status', 'pause_on'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.drop_index('ix_subscription_status_pause_on')
        batch_op.drop_index('ix_subscription_status_next_billing')

    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_pending_created', sqlite_where=sa.text("status = 'pending'"), postgresql_where=sa.text("status = 'pending'"))

    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_index('ix_invoice_pending_payment', sqlite_where=sa.text('pending_payment_id IS NOT NULL'), postgresql_where=sa.text('pending_payment_id IS NOT NULL'))
