"""Routes shared by the cross-cutting tests: every detail URL of a customer's own things.

Each issue adds the detail routes it creates here, so ownership (another customer's id → 404)
is checked for all of them by one parametrized test.
"""

from __future__ import annotations

from sqlmodel import Session, select

from webapp.models import (
    CreditNote,
    Estimate,
    Invoice,
    Payment,
    Project,
    Review,
    Subscription,
    TimeEntry,
)

# (name, URL template, how to find one of the customer's ids)
DETAIL_ROUTES: list[tuple[str, str, object]] = [
    ("subscription", "/subscriptions/{id}", Subscription),
    ("invoice", "/invoices/{id}", Invoice),
    ("payment", "/payments/{id}", Payment),
    ("credit note", "/credits/{id}", CreditNote),
    ("invoice pdf", "/invoices/{id}.pdf", Invoice),
    ("credit note pdf", "/credits/{id}.pdf", CreditNote),
    ("receipt pdf", "/payments/{id}.pdf", Payment),
    ("invoice forward", "/invoices/{id}/forward", Invoice),
    ("credit note forward", "/credits/{id}/forward", CreditNote),
    ("receipt forward", "/payments/{id}/forward", Payment),
    ("estimate", "/estimates/{id}", Estimate),
    ("estimate pdf", "/estimates/{id}.pdf", Estimate),
    ("estimate forward", "/estimates/{id}/forward", Estimate),
    ("project", "/projects/{id}", Project),
    ("time entry", "/timesheets/entries/{id}", TimeEntry),
    ("review", "/reviews/{id}", Review),
]


def first_id(session: Session, model, customer_id: int) -> int:
    query = select(model.id).where(model.customer_id == customer_id)
    if model is Payment:
        query = query.where(Payment.status == "succeeded")
    return session.exec(query.order_by(model.id)).first()
