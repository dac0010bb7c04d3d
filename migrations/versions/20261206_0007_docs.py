"""documents: the tax rate an invoice's and an estimate's lines were taxed at

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 19:00:00

A document shows each line's tax rate. Lines stored only their tax amount, and the
organization's rate may change after an invoice is issued, so the rate is kept with the
invoice (and the estimate) when it is priced. Rows written before take the organization's
rate of today where they carry tax (the best there is), and none where they carry none.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ('invoice', 'estimate'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('tax_rate_bp', sa.Integer(), nullable=True))
        op.execute(f"UPDATE {table} SET tax_rate_bp = "
                   "(SELECT tax_rate_bp FROM organization WHERE organization.id = 1) "
                   "WHERE tax_total <> 0")


def downgrade() -> None:
    for table in ('estimate', 'invoice'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('tax_rate_bp')
