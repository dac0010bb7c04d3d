"""the portal in the reader's language (issue 33): an admin's own locale, a notification's
message parameters (its title and body are message ids, translated when shown)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 07:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('user') as batch_op:
        batch_op.add_column(sa.Column('locale', sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=True))
    with op.batch_alter_table('notification') as batch_op:
        batch_op.add_column(sa.Column('params', sa.JSON(), nullable=False, server_default='{}'))


def downgrade() -> None:
    with op.batch_alter_table('notification') as batch_op:
        batch_op.drop_column('params')
    with op.batch_alter_table('user') as batch_op:
        batch_op.drop_column('locale')
