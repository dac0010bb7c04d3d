"""intervals and billing rules (issue 30): the proration setting, a failed creation's message,
and engine term invoices unique only while not void

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 00:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_TERMS = "kind IN ('first_term', 'renewal')"
_OPEN_TERMS = "kind IN ('first_term', 'renewal') AND status != 'void'"


def _term_index(where: str) -> None:
    with op.batch_alter_table('invoice') as batch:
        batch.drop_index('uq_invoice_engine_term')
        batch.create_index('uq_invoice_engine_term', ['subscription_id', 'period_start', 'kind'],
                           unique=True, sqlite_where=sa.text(where),
                           postgresql_where=sa.text(where))


def upgrade() -> None:
    with op.batch_alter_table('preferences') as batch:
        batch.add_column(sa.Column('proration', sqlmodel.sql.sqltypes.AutoString(length=32),
                                   nullable=False, server_default='prorate'))
    with op.batch_alter_table('subscription') as batch:
        batch.add_column(sa.Column('creation_error',
                                   sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))
    # A failed creation's voided first invoice leaves its term free to be billed on a retry.
    _term_index(_OPEN_TERMS)


def downgrade() -> None:
    _term_index(_TERMS)
    with op.batch_alter_table('subscription') as batch:
        batch.drop_column('creation_error')
    with op.batch_alter_table('preferences') as batch:
        batch.drop_column('proration')
