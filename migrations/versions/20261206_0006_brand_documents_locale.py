"""brand, documents a business can send, the customer's locale

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 18:30:00

The organization's legal details, payment instructions and brand colour; its logo and icons
(brand_asset); a customer's own locale (NULL: the organization's).
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from webapp.models.types import UTCDateTime

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legal_name', sqlmodel.sql.sqltypes.AutoString(length=200),
                                      nullable=False, server_default=''))
        batch_op.add_column(sa.Column('tax_id', sqlmodel.sql.sqltypes.AutoString(length=50),
                                      nullable=False, server_default=''))
        batch_op.add_column(sa.Column('payment_instructions',
                                      sqlmodel.sql.sqltypes.AutoString(length=1000),
                                      nullable=False, server_default=''))
        batch_op.add_column(sa.Column('brand_colour', sqlmodel.sql.sqltypes.AutoString(length=7),
                                      nullable=True))
        batch_op.add_column(sa.Column('brand_version', sa.Integer(), nullable=False,
                                      server_default='1'))
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=True))
    op.create_table(
        'brand_asset',
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('kind', name=op.f('pk_brand_asset')),
    )


def downgrade() -> None:
    op.drop_table('brand_asset')
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_column('locale')
    with op.batch_alter_table('organization', schema=None) as batch_op:
        batch_op.drop_column('brand_version')
        batch_op.drop_column('brand_colour')
        batch_op.drop_column('payment_instructions')
        batch_op.drop_column('tax_id')
        batch_op.drop_column('legal_name')
