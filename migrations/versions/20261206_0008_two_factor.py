"""two-factor sign-in: TOTP on users, recovery codes, remembered devices, the policy

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 18:45:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from webapp.models.types import UTCDateTime

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('totp_secret', sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))
        batch_op.add_column(sa.Column('totp_enabled_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))
    with op.batch_alter_table('preferences', schema=None) as batch_op:
        batch_op.add_column(sa.Column('two_factor_policy',
                                      sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=False, server_default='optional'))
        batch_op.add_column(sa.Column('two_factor_new_device_email', sa.Boolean(),
                                      nullable=False, server_default=sa.false()))
    op.create_table(
        'recovery_code',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('used_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'],
                                name=op.f('fk_recovery_code_user_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_code')),
    )
    op.create_index(op.f('ix_recovery_code_user_id'), 'recovery_code', ['user_id'])
    op.create_table(
        'trusted_device',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('device', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('expires_at', UTCDateTime(), nullable=False),
        sa.Column('revoked_at', UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'],
                                name=op.f('fk_trusted_device_user_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_trusted_device')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_trusted_device_token_hash')),
    )
    op.create_index(op.f('ix_trusted_device_user_id'), 'trusted_device', ['user_id'])


def downgrade() -> None:
    op.drop_index(op.f('ix_trusted_device_user_id'), table_name='trusted_device')
    op.drop_table('trusted_device')
    op.drop_index(op.f('ix_recovery_code_user_id'), table_name='recovery_code')
    op.drop_table('recovery_code')
    with op.batch_alter_table('preferences', schema=None) as batch_op:
        batch_op.drop_column('two_factor_new_device_email')
        batch_op.drop_column('two_factor_policy')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_enabled_at')
        batch_op.drop_column('totp_secret')
