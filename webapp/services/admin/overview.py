"""One customer at a glance: account, portal access, subscriptions, invoices, payments, credits,
reviews, notes and recent activity. The lists come from the services the customer's own pages
use, called with this customer's id."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from webapp.models import AuditEntry, ContactPerson, Customer, CustomerNote
from webapp.services.admin import billing, customers, portal
from webapp.services.admin.activity import AuditRow
from webapp.services.billing import credits, invoices
from webapp.services.core.dates import Moment
from webapp.services.core.listing import Page
from webapp.services.payments import history
from webapp.services.subscriptions import views

RECENT = 10

try:  # Reviews come with their own issue; the overview shows them once they exist.
    from webapp.services.engagement.reviews import customer_reviews
except ImportError:  # pragma: no cover - depends on what is installed
    customer_reviews = None


@dataclass(frozen=True)
class CustomerOverview:
    customer: Customer
    position: billing.AccountPosition
    portal: portal.PortalAccess
    contacts: tuple[ContactPerson, ...]
    subscriptions: Page
    invoices: Page
    payments: Page
    credits: Page
    reviews: tuple | None  # None: reviews are not part of this portal
    notes: tuple[CustomerNote, ...]
    activity: tuple[AuditRow, ...]


def overview(session: Session, *, customer_id: int, at: Moment) -> CustomerOverview:
    customer = customers.get_customer(session, customer_id)
    entries = session.exec(select(AuditEntry).where(AuditEntry.customer_id == customer_id)
                           .order_by(col(AuditEntry.created_at).desc(),
                                     col(AuditEntry.id).desc()).limit(RECENT)).all()
    return CustomerOverview(
        customer, billing.account_position(session, customer_id=customer_id, at=at),
        portal.access(session, customer_id=customer_id, now=at.now),
        customers.contacts(session, customer_id=customer_id),
        views.list_subscriptions(
            session, customer_id=customer_id, filters=views.SubscriptionFilters(),
            page_size=50),
        invoices.list_invoices(session, customer_id=customer_id,
                               filters=invoices.InvoiceFilters(), at=at,
                               page_size=RECENT),
        history.list_payments(session, customer_id=customer_id,
                              filters=history.PaymentFilters(), page_size=RECENT),
        credits.list_credits(session, customer_id=customer_id, filters=credits.CreditFilters(),
                             page_size=RECENT),
        customer_reviews(session, customer_id=customer_id) if customer_reviews else None,
        customers.notes(session, customer_id=customer_id),
        tuple(AuditRow.of(e, customer.display_name) for e in entries))
