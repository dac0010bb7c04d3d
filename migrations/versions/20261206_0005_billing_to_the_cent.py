"""billing to the cent: what a subscription holds now, coupons of the term, overdue invoices

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 09:21:42.386653

Existing subscriptions get their held invoice (the newest non-void invoice that pays for the
end of their current term) and the coupons their current term invoice was discounted with.
"""
import re
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME_KINDS = ("first_term", "renewal", "reactivation", "proration")
_COUPON_LINE = re.compile(r"^Coupon (?P<code>[^:]+):")


def upgrade() -> None:
    with op.batch_alter_table('preferences', schema=None) as batch_op:
        batch_op.add_column(sa.Column('overdue_reminder_days', sa.JSON(), nullable=False,
                                      server_default='[1, 7, 14]'))
        batch_op.add_column(sa.Column('overdue_action', sqlmodel.sql.sqltypes.AutoString(length=16),
                                      nullable=False, server_default='nothing'))
        batch_op.add_column(sa.Column('overdue_action_days', sa.Integer(), nullable=False,
                                      server_default='30'))

    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invoice_id', sa.Integer(), nullable=True))
        batch_op.alter_column('subscription_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_unique_constraint(batch_op.f('uq_reminder_invoice_id_kind_for_date'), ['invoice_id', 'kind', 'for_date'])
        batch_op.create_foreign_key(batch_op.f('fk_reminder_invoice_id_invoice'), 'invoice', ['invoice_id'], ['id'])

    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_invoice_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('term_days', sa.Integer(), nullable=True))

    with op.batch_alter_table('subscription_coupon', schema=None) as batch_op:
        batch_op.add_column(sa.Column('in_current_term', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))

    _backfill(op.get_bind())


def _backfill(conn) -> None:
    subs = conn.execute(sa.text(
        "SELECT id, current_term_start, current_term_end FROM subscription "
        "WHERE current_term_start IS NOT NULL AND current_term_end IS NOT NULL")).all()
    invoice = sa.text(
        "SELECT id FROM invoice WHERE subscription_id = :sub AND status != 'void' "
        "AND kind IN :kinds AND period_end = :end AND period_start >= :start "
        "ORDER BY id DESC LIMIT 1").bindparams(sa.bindparam("kinds", expanding=True))
    for sub_id, start, end in subs:
        held = conn.execute(invoice, {"sub": sub_id, "kinds": list(_TIME_KINDS), "end": end,
                                      "start": start}).scalar()
        if held is None:
            continue
        conn.execute(sa.text("UPDATE subscription SET held_invoice_id = :held WHERE id = :sub"),
                     {"held": held, "sub": sub_id})
        codes = {match.group("code") for (description,) in conn.execute(sa.text(
            "SELECT description FROM invoice_line WHERE invoice_id = :held AND kind = 'discount'"),
            {"held": held}) if (match := _COUPON_LINE.match(description))}
        if codes:
            conn.execute(sa.text(
                "UPDATE subscription_coupon SET in_current_term = :yes WHERE subscription_id = :sub "
                "AND coupon_id IN (SELECT id FROM coupon WHERE code IN :codes)")
                .bindparams(sa.bindparam("codes", expanding=True)),
                {"yes": True, "sub": sub_id, "codes": sorted(codes)})


def downgrade() -> None:
    with op.batch_alter_table('subscription_coupon', schema=None) as batch_op:
        batch_op.drop_column('in_current_term')

    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.drop_column('term_days')
        batch_op.drop_column('held_invoice_id')

    op.execute("DELETE FROM reminder WHERE subscription_id IS NULL")
    with op.batch_alter_table('reminder', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_reminder_invoice_id_invoice'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_reminder_invoice_id_kind_for_date'), type_='unique')
        batch_op.alter_column('subscription_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('invoice_id')

    with op.batch_alter_table('preferences', schema=None) as batch_op:
        batch_op.drop_column('overdue_action_days')
        batch_op.drop_column('overdue_action')
        batch_op.drop_column('overdue_reminder_days')
