"""Building invoices from subscription changes: one function for previews and invoices alike.

`draft` prices what a change would bill (a new term, a reactivation, a mid-term change) and
`issue` writes exactly that draft, so a preview shown to a customer and the invoice that
follows are equal to the cent.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, select

from webapp.models import Invoice, Plan, Subscription, SubscriptionCoupon
from webapp.services import ledger
from webapp.services.catalog import SubscriptionItems, subscription_items
from webapp.services.dates import add_interval
from webapp.services.pricing import Charge, Priced, price


@dataclass(frozen=True)
class Term:
    """Bill a whole term starting on `start`."""

    start: date
    kind: str  # first_term | renewal | reactivation
    include_setup_fee: bool = False


@dataclass(frozen=True)
class InvoiceDraft:
    kind: str
    priced: Priced
    period: ledger.Period | None
    coupon_ids: tuple[int, ...]  # coupons whose use counts once this is issued

    def fingerprint(self) -> str:
        """A hash of everything the customer agrees to; a confirm form carries it."""
        payload = [self.kind, self.period.start.isoformat() if self.period else None,
                   self.period.end.isoformat() if self.period else None,
                   [[line.kind, line.description, line.quantity, line.unit_amount, line.amount,
                     line.tax_amount] for line in self.priced.lines]]
        return hashlib.sha256(json.dumps(payload).encode()).hexdigest()[:32]


def term_end(plan: Plan, start: date, anchor_day: int | None) -> date:
    return add_interval(start, plan.interval_unit, plan.interval_count, anchor_day)


def draft(session: Session, sub: Subscription, change: Term, *, tax_bp: int | None,
          items: SubscriptionItems | None = None) -> InvoiceDraft:
    """Price what `change` bills for `sub`, without writing anything."""
    items = items or subscription_items(session, [sub])[sub.id]
    charges = items.recurring_charges()
    if change.include_setup_fee and items.plan_price and items.plan_price.setup_fee:
        charges.append(Charge("setup_fee", "Setup fee", 1, items.plan_price.setup_fee,
                              discountable=False))
    active = [c for c in items.coupons if c.active]
    end = term_end(items.plan, change.start, sub.anchor_day)
    return InvoiceDraft(change.kind, price(charges, [c.discount() for c in active], tax_bp=tax_bp),
                        ledger.Period(change.start, end), tuple(c.coupon.id for c in active))


def issue(session: Session, sub: Subscription, invoice_draft: InvoiceDraft, *, issue_date: date,
          due_date: date, now: datetime, idempotency_key: str | None = None) -> Invoice:
    """Write the drafted invoice and count one term of use on its coupons."""
    invoice = ledger.issue_invoice(
        session, customer_id=sub.customer_id, currency=sub.currency, kind=invoice_draft.kind,
        priced=invoice_draft.priced, issue_date=issue_date, due_date=due_date, now=now,
        subscription_id=sub.id, period=invoice_draft.period, idempotency_key=idempotency_key)
    if invoice_draft.coupon_ids:
        for link in session.exec(select(SubscriptionCoupon).where(
                SubscriptionCoupon.subscription_id == sub.id,
                SubscriptionCoupon.coupon_id.in_(invoice_draft.coupon_ids))):
            link.terms_used += 1
    return invoice
