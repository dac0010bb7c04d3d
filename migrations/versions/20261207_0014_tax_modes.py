"""tax modes: places, exemptions, the reverse charge, inclusive prices; per-line tax (issue 30)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 00:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(length: int) -> sa.types.TypeEngine:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _line_columns(batch_op) -> None:
    batch_op.add_column(sa.Column('tax_rate_bp', sa.Integer(), nullable=True))
    batch_op.add_column(sa.Column('tax_label', _text(50), nullable=False, server_default=''))
    batch_op.add_column(sa.Column('tax_basis', sa.Integer(), nullable=False, server_default='0'))


def upgrade() -> None:
    op.create_table(
        'tax_rate',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('country', _text(2), nullable=False),
        sa.Column('region', _text(50), nullable=False),
        sa.Column('rate_bp', sa.Integer(), nullable=False),
        sa.Column('label', _text(50), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tax_rate')),
        sa.UniqueConstraint('country', 'region', name=op.f('uq_tax_rate_country_region')),
    )
    with op.batch_alter_table('organization') as batch_op:
        batch_op.add_column(sa.Column('country', _text(2), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('tax_inclusive', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('customer') as batch_op:
        batch_op.add_column(sa.Column('country', _text(2), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('region', _text(50), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('tax_exempt', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('tax_exempt_reason', _text(200), nullable=False,
                                      server_default=''))
    with op.batch_alter_table('invoice') as batch_op:
        batch_op.add_column(sa.Column('tax_note', _text(300), nullable=False, server_default=''))
    with op.batch_alter_table('estimate') as batch_op:
        batch_op.add_column(sa.Column('tax_note', _text(300), nullable=False, server_default=''))
    with op.batch_alter_table('invoice_line') as batch_op:
        _line_columns(batch_op)
    with op.batch_alter_table('estimate_line') as batch_op:
        _line_columns(batch_op)
    # The lines written before: every line of a document was taxed at its one rate, on its
    # net amount, under the organization's tax name.
    for line, document, key in (('invoice_line', 'invoice', 'invoice_id'),
                                ('estimate_line', 'estimate', 'estimate_id')):
        op.execute(f"UPDATE {line} SET tax_basis = amount, tax_rate_bp = "
                   f"(SELECT {document}.tax_rate_bp FROM {document} "
                   f"WHERE {document}.id = {line}.{key})")
        op.execute(sa.text(f"UPDATE {line} SET tax_label = "
                           f"COALESCE((SELECT tax_name FROM organization "
                           f"ORDER BY id LIMIT 1), '') WHERE tax_rate_bp IS NOT NULL"))


def downgrade() -> None:
    for table in ('estimate_line', 'invoice_line'):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column('tax_basis')
            batch_op.drop_column('tax_label')
            batch_op.drop_column('tax_rate_bp')
    for table in ('estimate', 'invoice'):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column('tax_note')
    with op.batch_alter_table('customer') as batch_op:
        batch_op.drop_column('tax_exempt_reason')
        batch_op.drop_column('tax_exempt')
        batch_op.drop_column('region')
        batch_op.drop_column('country')
    with op.batch_alter_table('organization') as batch_op:
        batch_op.drop_column('tax_inclusive')
        batch_op.drop_column('country')
    op.drop_table('tax_rate')
