"""intervals and billing rules (issue 30): the proration setting, a failed creation's message

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 00:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('preferences') as batch:
        batch.add_column(sa.Column('proration', sqlmodel.sql.sqltypes.AutoString(length=32),
                                   nullable=False, server_default='prorate'))
    with op.batch_alter_table('subscription') as batch:
        batch.add_column(sa.Column('creation_error',
                                   sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('subscription') as batch:
        batch.drop_column('creation_error')
    with op.batch_alter_table('preferences') as batch:
        batch.drop_column('proration')
