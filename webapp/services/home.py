"""The home dashboard: everything between the customer and the business at a glance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Date, bindparam, select
from sqlmodel import Session

from webapp.models import Customer, Subscription
from webapp.services import credits, invoices, payments, rows
from webapp.services.catalog import subscription_items
from webapp.services.listing import read
from webapp.services.subscriptions import SubscriptionRow

RENEWING = ("trial", "live", "non_renewing", "future", "paused", "dunning")


_CUSTOMERS = Customer.__table__
CustomerRow = rows.row_type(_CUSTOMERS)
_CUSTOMER = select(*rows.columns(_CUSTOMERS)).where(_CUSTOMERS.c.id == bindparam("id"))
# The next five renewals, as rows (columns, not entities).
_NEXT_RENEWALS = (
    select(Subscription.__table__)
    .where(Subscription.customer_id == bindparam("customer_id"),
           Subscription.status.in_(RENEWING), Subscription.next_billing_date.is_not(None),
           Subscription.next_billing_date >= bindparam("today", type_=Date))
    .order_by(Subscription.next_billing_date, Subscription.id).limit(5))


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


def dashboard(session: Session, *, customer_id: int, today: date,
              tax_bp: int | None) -> Dashboard:
    """A fixed number of queries, whatever the size of the customer's history."""
    customer = rows.split(read(session, _CUSTOMER, {"id": customer_id}).one(), _CUSTOMERS)[0]
    outstanding, overdue = invoices.outstanding(session, customer_id=customer_id, today=today)
    subs = read(session, _NEXT_RENEWALS, {"customer_id": customer_id, "today": today}).all()
    items = subscription_items(session, subs)
    return Dashboard(
        customer, customer.currency, outstanding, overdue,
        credits.unused_credit(session, customer_id=customer_id),
        tuple(SubscriptionRow.of(s, items[s.id], tax_bp) for s in subs),
        invoices.recent_invoices(session, customer_id=customer_id, today=today),
        payments.recent_payments(session, customer_id=customer_id))
