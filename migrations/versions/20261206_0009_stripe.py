"""stripe: the customer's id at the processor, webhook events stored once, payments by reference

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 21:45:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from webapp.models.types import UTCDateTime

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gateway_customer_id',
                                      sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.create_index('ix_payment_gateway_reference', ['gateway_reference'], unique=False)
    op.create_table(
        'gateway_event',
        sa.Column('id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('received_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade() -> None:
    op.drop_table('gateway_event')
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_gateway_reference')
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_column('gateway_customer_id')
