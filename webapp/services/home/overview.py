"""The home dashboard: everything between the customer and the business at a glance."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Date, bindparam, select, true
from sqlmodel import Session

from webapp.models import Customer, Subscription
from webapp.services.billing import credits, invoices, tax
from webapp.services.billing.catalog import (
    items_of,
    items_statements_for,
    join_plan,
    listed_columns,
    with_plan,
)
from webapp.services.core import rows
from webapp.services.core.dates import Moment
from webapp.services.core.i18n import translated
from webapp.services.core.listing import one_of
from webapp.services.core.stacked import Stack, fixed_page, numbered
from webapp.services.payments import history as payments
from webapp.services.subscriptions.views import SubscriptionRow

RENEWING = ("trial", "live", "non_renewing", "future", "paused", "dunning")


# The customer's name and currency: what the dashboard shows of them (core/rows.Some).
_CUSTOMER = rows.Some(Customer.__table__, "id", "display_name", "currency")
CustomerRow = rows.row_type(_CUSTOMER)
# The customer with their outstanding balance, overdue count and unused credit: one round trip
# (each aggregate returns exactly one row, so the joins keep the customer's one row).
_OUTSTANDING, _CREDIT = invoices.OUTSTANDING.subquery(), credits.UNUSED_CREDIT.subquery()
_SUMMARY = (select(*rows.columns(_CUSTOMER), _OUTSTANDING.c.outstanding, _OUTSTANDING.c.overdue,
                   _CREDIT.c.unused_credit)
            .select_from(_CUSTOMER.table.join(_OUTSTANDING, true()).join(_CREDIT, true()))
            .where(_CUSTOMER.table.c.id == bindparam("customer_id")))
# The next five renewals with their plans, as rows (columns, not entities).
_NEXT_RENEWALS = (
    select(*listed_columns()).select_from(join_plan())
    .where(Subscription.customer_id == bindparam("customer_id"),
           one_of(Subscription.status, RENEWING), Subscription.next_billing_date.is_not(None),
           Subscription.next_billing_date >= bindparam("today", type_=Date))
    .order_by(Subscription.next_billing_date, Subscription.id).limit(5))
RECENT = 5  # invoices and payments


def _dashboard_stack() -> Stack:
    """The whole dashboard in one statement after the login (core/stacked): the summary, the
    next renewals with their plans, those renewals' addons and coupons, the last invoices and
    the last payments. Seven statements were 7 round trips and 7 times the driver's work; the
    server ran each in 0.02-0.15 ms (issue 32, bench/README.md)."""
    renewals = numbered(_NEXT_RENEWALS).cte("next_renewals")
    addons, coupons = items_statements_for(renewals)
    return Stack(summary=_SUMMARY, renewals=renewals, addons=addons, coupons=coupons,
                 invoices=fixed_page(invoices.recent_invoices_statement(), RECENT),
                 payments=fixed_page(payments.recent_payments_statement(), RECENT))


_DASHBOARD = _dashboard_stack()


@dataclass(frozen=True)
class Dashboard:
    customer: CustomerRow
    currency: str
    outstanding: int
    overdue_count: int
    unused_credit: int
    next_renewals: tuple[SubscriptionRow, ...]
    recent_invoices: tuple[invoices.InvoiceRow, ...]
    recent_payments: tuple[payments.PaymentRow, ...]

    @property
    def has_outstanding(self) -> bool:
        return self.outstanding > 0


def dashboard(session: Session, *, customer_id: int, at: Moment) -> Dashboard:
    """One statement, whatever the size of the customer's history."""
    found = _DASHBOARD.read(session, {"customer_id": customer_id, "today": at.today})
    summary = found["summary"][0]
    customer = rows.split(summary, _CUSTOMER)[0]
    renewals = [with_plan(row) for row in found["renewals"]]
    subs = [sub for sub, _ in renewals]
    items = items_of(subs, [plan for _, plan in renewals], found["addons"], found["coupons"],
                     listed=True)
    labels = translated(invoices.STATUS_LABELS)
    tax_ = tax.tax_for(session, customer_id)
    return Dashboard(
        customer, customer.currency, int(summary.outstanding), int(summary.overdue),
        int(summary.unused_credit),
        tuple(SubscriptionRow.of(s, items[s.id], tax_) for s in subs),
        tuple(invoices.recent_invoice(row, at, labels) for row in found["invoices"]),
        tuple(payments.PaymentRow.of(row) for row in found["payments"]))
