"""customer.currency indexed: the admin lists' currency filter reads the currencies in use
with one index probe each, not a pass over every customer (issue 32)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 14:00:00
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f('ix_customer_currency'), 'customer', ['currency'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_customer_currency'), table_name='customer')
