"""login protection: shared rate-limit counters, per-account throttles, account notices

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 09:41:06.720316
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import webapp.models.types


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('account_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('created_at', webapp.models.types.UTCDateTime(), nullable=False),
    sa.Column('processed_at', webapp.models.types.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_notice'))
    )
    with op.batch_alter_table('account_notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_notice_processed_at'), ['processed_at'], unique=False)

    op.create_table('login_throttle',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('last_failure_at', webapp.models.types.UTCDateTime(), nullable=True),
    sa.Column('locked_until', webapp.models.types.UTCDateTime(), nullable=True),
    sa.Column('notified_at', webapp.models.types.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttle'))
    )
    with op.batch_alter_table('login_throttle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_throttle_locked_until'), ['locked_until'], unique=False)

    op.create_table('rate_limit_counter',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_limit_counter'))
    )


def downgrade() -> None:
    op.drop_table('rate_limit_counter')
    with op.batch_alter_table('login_throttle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_throttle_locked_until'))

    op.drop_table('login_throttle')
    with op.batch_alter_table('account_notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_notice_processed_at'))

    op.drop_table('account_notice')
