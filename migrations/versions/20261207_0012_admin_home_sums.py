"""admin home sums: each subscription's recorded MRR, the months' movement sums, and the
retention cohort of the day (issue 31's speed)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 01:00:00
"""
from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from webapp.models.types import UTCDateTime

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Indexes the admin home's sums read alone (index-only scans): (name, table, before, after).
_WIDER = (
    ('ix_invoice_status_due', 'invoice', ['status', 'due_date'],
     ['status', 'due_date', 'currency', 'customer_id', 'total', 'amount_paid',
      'credits_applied']),
    ('ix_payment_status_paid', 'payment', ['status', 'paid_on'],
     ['status', 'paid_on', 'currency', 'kind', 'amount']),
)


def upgrade() -> None:
    with op.batch_alter_table('subscription') as batch:
        batch.add_column(sa.Column('mrr_num', sa.BigInteger(), nullable=False,
                                   server_default='0'))
        batch.add_column(sa.Column('mrr_den', sa.Integer(), nullable=False,
                                   server_default='12'))
        batch.add_column(sa.Column('mrr_amount', sa.BigInteger(), nullable=False,
                                   server_default='0'))
    op.create_table(
        'mrr_month',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('after_den', sa.Integer(), nullable=False),
        sa.Column('before_den', sa.Integer(), nullable=False),
        sa.Column('after_sum', sa.BigInteger(), nullable=False),
        sa.Column('before_sum', sa.BigInteger(), nullable=False),
        sa.Column('movements', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mrr_month')),
        sa.UniqueConstraint('month', 'currency', 'kind', 'after_den', 'before_den',
                            name=op.f('uq_mrr_month_month_currency_kind_after_den_before_den')),
    )
    op.create_table(
        'mrr_cohort_day',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('last_movement_id', sa.Integer(), nullable=False),
        sa.Column('cutoff', UTCDateTime(), nullable=False),
        sa.Column('made_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('day', name=op.f('pk_mrr_cohort_day')),
    )
    op.create_table(
        'mrr_cohort_total',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column('then_num', sa.BigInteger(), nullable=False),
        sa.Column('then_den', sa.BigInteger(), nullable=False),
        sa.Column('now_num', sa.BigInteger(), nullable=False),
        sa.Column('now_den', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['day'], ['mrr_cohort_day.day'],
                                name=op.f('fk_mrr_cohort_total_day_mrr_cohort_day')),
        sa.PrimaryKeyConstraint('day', 'currency', name=op.f('pk_mrr_cohort_total')),
    )
    op.create_index('ix_mrr_movement_created', 'mrr_movement', ['created_at'])
    for name, table, _, columns in _WIDER:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns)
    op.create_index('ix_subscription_status_retry', 'subscription',
                    ['status', 'next_retry_on', 'id'])
    op.create_table(
        'mrr_cohort',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
        sa.Column('then_num', sa.BigInteger(), nullable=False),
        sa.Column('then_den', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['customer_id'], ['customer.id'],
                                name=op.f('fk_mrr_cohort_customer_id_customer')),
        sa.ForeignKeyConstraint(['day'], ['mrr_cohort_day.day'],
                                name=op.f('fk_mrr_cohort_day_mrr_cohort_day')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_mrr_cohort')),
        sa.UniqueConstraint('day', 'customer_id', 'currency', name=op.f('uq_mrr_cohort_day_customer_id_currency')),
    )
    _fill()


def _fill() -> None:
    """The sums of the movements recorded so far, and each subscription's last one."""
    bind = op.get_bind()
    movement = sa.table('mrr_movement', sa.column('id', sa.Integer()),
                        sa.column('subscription_id', sa.Integer()),
                        sa.column('moved_on', sa.Date()), sa.column('currency'),
                        sa.column('kind'), sa.column('after_den', sa.Integer()),
                        sa.column('before_den', sa.Integer()),
                        sa.column('after_num', sa.BigInteger()),
                        sa.column('before_num', sa.BigInteger()),
                        sa.column('after_amount', sa.BigInteger()))
    keys = (movement.c.moved_on, movement.c.currency, movement.c.kind, movement.c.after_den,
            movement.c.before_den)
    months: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for day, currency, kind, after_den, before_den, after, before, n in bind.execute(
            sa.select(*keys, sa.func.sum(movement.c.after_num),
                      sa.func.sum(movement.c.before_num), sa.func.count())
            .group_by(*keys)):
        total = months[(day.replace(day=1), currency, kind, after_den, before_den)]
        total[0] += int(after)
        total[1] += int(before)
        total[2] += int(n)
    if months:
        op.bulk_insert(sa.table('mrr_month', sa.column('month', sa.Date()),
                                sa.column('currency'), sa.column('kind'),
                                sa.column('after_den'), sa.column('before_den'),
                                sa.column('after_sum'), sa.column('before_sum'),
                                sa.column('movements')),
                       [{'month': m, 'currency': c, 'kind': k, 'after_den': a, 'before_den': b,
                         'after_sum': x, 'before_sum': y, 'movements': n}
                        for (m, c, k, a, b), (x, y, n) in sorted(months.items())])
    subscription = sa.table('subscription', sa.column('id', sa.Integer()),
                            sa.column('mrr_num'), sa.column('mrr_den'), sa.column('mrr_amount'))
    other = movement.alias('newer')
    latest = sa.select(sa.func.max(other.c.id)) \
        .where(other.c.subscription_id == subscription.c.id).correlate(subscription) \
        .scalar_subquery()

    def last(column, zero_on_churn=True):
        value = sa.case((movement.c.kind == 'churn', 0), else_=column) if zero_on_churn \
            else column
        return sa.select(value).where(movement.c.id == latest).scalar_subquery()

    bind.execute(subscription.update().values(
        mrr_num=sa.func.coalesce(last(movement.c.after_num), 0),
        mrr_den=sa.func.coalesce(last(movement.c.after_den, zero_on_churn=False), 12),
        mrr_amount=sa.func.coalesce(last(movement.c.after_amount), 0)))


def downgrade() -> None:
    op.drop_index('ix_subscription_status_retry', table_name='subscription')
    for name, table, columns, _ in _WIDER:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, columns)
    op.drop_index('ix_mrr_movement_created', table_name='mrr_movement')
    op.drop_table('mrr_cohort_total')
    op.drop_table('mrr_cohort')
    op.drop_table('mrr_cohort_day')
    op.drop_table('mrr_month')
    with op.batch_alter_table('subscription') as batch:
        batch.drop_column('mrr_amount')
        batch.drop_column('mrr_den')
        batch.drop_column('mrr_num')
