"""Building invoices from subscription changes: one function for previews and invoices alike.

`draft` prices what a change would bill (a new term, a reactivation, a mid-term change) and
`issue` writes exactly that draft, so a preview shown to a customer and the invoice that
follows are equal to the cent.

What the customer holds now is the subscription's held invoice (`Subscription.held_invoice_id`):
the term's invoice, or the proration invoice of its latest change. `unused_time` credits the
days left of its time-based lines at the price paid for them; the change and cancel paths both
call it, so each day of a term is credited at most once and never for more than was paid.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from webapp.models import Invoice, InvoiceLine, Plan, Subscription, SubscriptionCoupon
from webapp.services.billing import ledger, pricing
from webapp.services.billing.catalog import SubscriptionItems, subscription_items
from webapp.services.billing.pricing import Charge, Line, Priced, price, prorate, taxed
from webapp.services.billing.tax import Tax
from webapp.services.core import wording
from webapp.services.core.dates import Moment, add_interval, days_between

# The lines of a held invoice that pay for days of the term (a setup fee does not).
TIME_LINES = ("plan", "addon", "discount", "proration_charge")


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


def draft(session: Session, sub: Subscription, change: Term, *, tax: Tax | None = None,
          tax_rate_bp: int | None = None, items: SubscriptionItems | None = None) -> InvoiceDraft:
    """Price what `change` bills for `sub`, without writing anything."""
    items = items or subscription_items(session, [sub])[sub.id]
    charges = items.recurring_charges()
    if change.include_setup_fee and items.plan_price and items.plan_price.setup_fee:
        charges.append(Charge("setup_fee", wording.SETUP_FEE, 1, items.plan_price.setup_fee,
                              discountable=False))
    active = [c for c in items.coupons if c.active]
    end = term_end(items.plan, change.start, sub.anchor_day)
    return InvoiceDraft(change.kind, price(charges, [c.discount() for c in active], tax_rate_bp=tax_rate_bp,
                                              tax=tax),
                        ledger.Period(change.start, end), tuple(c.coupon.id for c in active))


def issue(session: Session, sub: Subscription, invoice_draft: InvoiceDraft, *, issue_date: date,
          due_date: date, now: datetime, idempotency_key: str | None = None) -> Invoice:
    """Write the drafted invoice and count one term of use on its coupons."""
    invoice = ledger.issue_invoice(
        session, customer_id=sub.customer_id, currency=sub.currency, kind=invoice_draft.kind,
        priced=invoice_draft.priced, issue_date=issue_date, due_date=due_date, now=now,
        subscription_id=sub.id, period=invoice_draft.period, idempotency_key=idempotency_key)
    count_coupon_terms(session, sub.id, invoice_draft.coupon_ids)
    return invoice


def count_coupon_terms(session: Session, subscription_id: int, coupon_ids) -> None:
    """A new term was invoiced with these coupons: each counts one term and discounts this
    term's proration invoices; the subscription's other coupons do not."""
    for link in session.exec(select(SubscriptionCoupon).where(
            SubscriptionCoupon.subscription_id == subscription_id)):
        link.in_current_term = link.coupon_id in coupon_ids
        if link.in_current_term:
            link.terms_used += 1


# -- What the customer holds now --------------------------------------------------------------

def term_days(sub: Subscription) -> int:
    """D: the days the current term's prices are spread over (the term's own length, or the
    length of the term a pause carried the unused days of)."""
    return sub.term_days or days_between(sub.current_term_start, sub.current_term_end)


def days_left(sub: Subscription, today: date) -> int:
    """r: the current term's days from today on (all of them while a carried term waits for
    its resume date)."""
    start, end = sub.current_term_start, sub.current_term_end
    if start is None or end is None:
        return 0
    return max(0, min(days_between(max(today, start), end), term_days(sub)))


@dataclass(frozen=True)
class UnusedTime:
    """The credit for the rest of the current term: the held invoice's lines, per line."""

    invoice_id: int
    invoice_number: str
    days_left: int
    term_days: int
    priced: Priced  # positive amounts (a discount's share is negative)

    @property
    def total(self) -> int:
        return self.priced.total


def unused_time(session: Session, sub: Subscription, at: Moment, *,
                tax: Tax) -> UnusedTime | None:
    """What the customer holds now for the days left, at the price paid for it; None when
    nothing paid is held. Each line: R(A·r, D), never more than the line was."""
    invoice = session.get(Invoice, sub.held_invoice_id) if sub.held_invoice_id else None
    left = days_left(sub, at.today)
    if invoice is None or invoice.status == "void" or left <= 0:
        return None
    lines = [x for x in session.exec(select(InvoiceLine).where(
        InvoiceLine.invoice_id == invoice.id, InvoiceLine.kind.in_(TIME_LINES))
        .order_by(InvoiceLine.position)) if x.amount]
    days = term_days(sub)
    credits = prorate([Charge(x.kind, x.description, x.quantity, x.unit_amount) for x in lines],
                      [], term_days=days, days_left=left).credits
    # Never more than the line was (a term restarted on a payment date may be longer).
    # (With inclusive prices a line's price is its amount and its tax.)
    paid = [x.amount + x.tax_amount if tax.inclusive else x.amount for x in lines]
    capped = [Charge(c.kind, c.description, c.quantity, c.unit_amount,
                     c.total if abs(c.total) <= abs(p) else p)
              for c, p in zip(credits, paid, strict=True)]
    # Nor more tax than the line carried (the rate may have changed since).
    tax_caps = iter([x.tax_amount for c, x in zip(capped, lines, strict=True) if c.total > 0])
    kept = tuple(replace(line, tax_amount=min(line.tax_amount, next(tax_caps)))
                 if line.amount > 0 else line
                 for line in taxed(capped, tax=tax).lines)
    kept = _within_paid([line for line in kept if line.amount], lines)
    subtotal, tax_total = sum(x.amount for x in kept), sum(x.tax_amount for x in kept)
    return UnusedTime(invoice.id, invoice.number, left, days,
                      Priced(kept, subtotal, tax_total, subtotal + tax_total, tax.rate_bp,
                             tax.label, tax.note))


def _within_paid(credits: list[Line], paid: list[InvoiceLine]) -> tuple[Line, ...]:
    """Never more credited than paid, in all: each line rounds on its own, so a discount's
    share can fall a unit short of the shares it discounted; it then takes back that unit
    (never more than the discount itself was)."""
    source = {pricing.base_description(x.description): x for x in paid}
    for field in ("amount", "tax_amount"):
        excess = sum(getattr(x, field) for x in credits) - sum(getattr(x, field) for x in paid)
        for index, line in enumerate(credits):
            if excess <= 0:
                break
            if line.amount < 0:
                given = source[pricing.base_description(line.description)]
                take = min(excess, max(0, getattr(line, field) - getattr(given, field)))
                credits[index] = replace(line, **{field: getattr(line, field) - take})
                excess -= take
    return tuple(credits)


# -- A mid-term pause keeps the unused paid days (DESIGN.md: state machine) -------------------

def carried_term(sub: Subscription, *, paused_on: date, resume_on: date) -> dict:
    """The term fields of a subscription pausing on `paused_on`: its unused days run from
    `resume_on` (nothing is credited or charged), and the next invoice comes when they end.
    At the end of a term nothing is carried: the next invoice comes on the resume date."""
    left = days_left(sub, paused_on)
    if left <= 0:
        return {"next_billing_date": resume_on}
    end = resume_on + timedelta(days=left)
    return {"term_days": term_days(sub), "current_term_start": resume_on,
            "current_term_end": end, "next_billing_date": end}


def carries_days(sub: Subscription) -> bool:
    """A paused subscription whose unused days wait to run from its resume date."""
    return sub.resume_on is not None and sub.current_term_start == sub.resume_on and \
        sub.current_term_end is not None and sub.current_term_end > sub.resume_on


def move_resume_date(sub: Subscription, resume_on: date) -> None:
    """A paused subscription resumes on another day: the days it carries move with it."""
    if carries_days(sub):
        shift = resume_on - sub.resume_on
        sub.current_term_start += shift
        sub.current_term_end += shift
        sub.next_billing_date = sub.current_term_end
    else:
        sub.next_billing_date = resume_on
    sub.resume_on = resume_on
