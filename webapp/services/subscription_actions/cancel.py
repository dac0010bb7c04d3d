"""Cancel (trial or paid), now or at the end of the term; the retention offer; and Remove
Scheduled Cancellation.

Which timings a customer sees is the preference (`cancel_timings`) narrowed by the state
machine. An immediate cancellation credits the unused days of the current paid term when the
preference says so: per line of the term's invoice, R(amount × days left, term days), its tax
prorated the same way (DESIGN.md: Proration).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from webapp.models import (
    Coupon,
    CreditNote,
    Invoice,
    InvoiceLine,
    Subscription,
    SubscriptionCoupon,
)
from webapp.services import (
    ledger,
    notifications,
    preferences,
    state_machine,
    subscription_changes,
)
from webapp.services.dates import days_between
from webapp.services.errors import DomainError, InvalidInput
from webapp.services.money import half_up_div
from webapp.services.pricing import Charge, Line, Priced, prorate
from webapp.services.subscription_actions.common import (
    CANCELLATION_REMOVED,
    RETENTION_ACCEPTED,
    Context,
    cancel_permission,
    confirm,
    context,
    owned,
)

IMMEDIATELY, END_OF_TERM = "immediately", "end_of_term"
_EVENTS = {IMMEDIATELY: "cancel_now", END_OF_TERM: "schedule_cancel"}
# Invoices that pay for a whole term, and the lines of them that are time-based.
_TERM_KINDS = ("first_term", "renewal", "reactivation")
_TIME_LINES = ("plan", "addon", "discount")
# A retention offer is made to subscriptions that would bill again.
_RETAINABLE = ("trial", "live", "paused")
MAX_DETAILS = 500


@dataclass(frozen=True)
class RetentionOffer:
    coupon_id: int
    code: str
    name: str
    text: str


@dataclass(frozen=True)
class UnusedTime:
    """The credit an immediate cancellation gives for the rest of the paid term."""

    invoice_id: int
    invoice_number: str
    days_left: int
    term_days: int
    priced: Priced

    @property
    def total(self) -> int:
        return self.priced.total


@dataclass(frozen=True)
class CancelOptions:
    subscription: Subscription
    timings: tuple[str, ...]
    reasons: tuple[str, ...]
    retention: RetentionOffer | None
    unused: UnusedTime | None  # credited on an immediate cancellation (preference)
    term_end: date | None  # when an end-of-term cancellation takes effect


@dataclass(frozen=True)
class CancelResult:
    subscription: Subscription
    timing: str
    credit_note: CreditNote | None
    message: str


def allowed_timings(prefs, sub: Subscription) -> tuple[str, ...]:
    """The preference's timings that the subscription's state allows."""
    return tuple(t for t in preferences.cancel_timings(prefs)
                 if state_machine.allowed(sub.status, _EVENTS[t]))


def cancel_options(session: Session, *, customer_id: int, subscription_id: int,
                   now: datetime) -> CancelOptions:
    """What the Cancel form offers for this subscription now."""
    ctx = context(session, now)
    return _options(ctx, owned(ctx, customer_id, subscription_id))


def _options(ctx: Context, sub: Subscription) -> CancelOptions:
    preferences.require(ctx.prefs, cancel_permission(sub))
    timings = allowed_timings(ctx.prefs, sub)
    if not timings:
        state_machine.check(sub.status, _EVENTS[preferences.cancel_timings(ctx.prefs)[0]])
    unused = unused_time(ctx.session, sub, ctx.today) if ctx.prefs.cancel_credit_unused and \
        IMMEDIATELY in timings else None
    return CancelOptions(sub, timings, tuple(ctx.prefs.cancellation_reasons),
                         retention_offer(ctx, sub), unused,
                         sub.current_term_end if END_OF_TERM in timings else None)


def cancel(session: Session, *, customer_id: int, subscription_id: int, timing: str,
           reason: str, details: str, now: datetime) -> CancelResult:
    """Cancel now (crediting unused paid time) or at the end of the current term."""
    ctx = context(session, now)
    sub = owned(ctx, customer_id, subscription_id)
    options = _options(ctx, sub)
    if timing not in options.timings:
        raise InvalidInput("Choose when the cancellation takes effect.", field="timing")
    if reason not in options.reasons:
        raise InvalidInput("Choose a reason from the list.", field="reason")
    details = (details or "").strip()
    if len(details) > MAX_DETAILS:
        raise InvalidInput(f"Use at most {MAX_DETAILS} characters.", field="details")
    why = f"{reason}: {details}" if details else reason
    if timing == IMMEDIATELY:
        return _cancel_now(ctx, sub, why, options.unused)
    return _cancel_at_term_end(ctx, sub, why)


def _cancel_now(ctx: Context, sub: Subscription, why: str,
                unused: UnusedTime | None) -> CancelResult:
    state_machine.transition(ctx.session, sub, "cancel_now", "cancelled", now=ctx.now,
                             cancelled_on=ctx.today, cancel_reason=why, next_billing_date=None,
                             status_before_cancel=None, pause_on=None, resume_on=None,
                             next_retry_on=None)
    note = credit_unused_time(ctx.session, sub, unused, today=ctx.today, now=ctx.now)
    credit = f" Credit note {note.number} gives you {ctx.money(note.total, note.currency)} " \
             f"for the unused time; it is used on your next invoice." if note else ""
    message = f"{sub.number} is cancelled.{credit}"
    confirm(ctx, sub, event=notifications.SUBSCRIPTION_CANCELLED,
            subject=f"{sub.number} is cancelled", message=message, details=[f"Reason: {why}"],
            org_title=f"{sub.number} cancelled by the customer",
            org_body=f"cancelled it now. Reason: {why}.{credit}")
    return CancelResult(sub, IMMEDIATELY, note, message)


def credit_unused_time(session: Session, sub: Subscription, unused: UnusedTime | None, *,
                       today: date, now: datetime) -> CreditNote | None:
    """The credit note for the unused time of a subscription cancelled now (None: nothing)."""
    if unused is None or unused.total <= 0:
        return None
    return ledger.create_credit_note(
        session, customer_id=sub.customer_id, currency=sub.currency, total=unused.total,
        reason=f"Unused time on {sub.number} ({unused.days_left} of {unused.term_days} days)",
        issue_date=today, now=now, invoice_id=unused.invoice_id, subscription_id=sub.id)


def _cancel_at_term_end(ctx: Context, sub: Subscription, why: str) -> CancelResult:
    state_machine.transition(ctx.session, sub, "schedule_cancel", "non_renewing", now=ctx.now,
                             status_before_cancel=sub.status, cancel_reason=why,
                             next_billing_date=None, pause_on=None, resume_on=None)
    on = sub.current_term_end.isoformat() if sub.current_term_end else "the end of the term"
    message = f"{sub.number} will be cancelled on {on}, at the end of the current term."
    confirm(ctx, sub, event=notifications.SUBSCRIPTION_CANCELLED,
            subject=f"{sub.number} will be cancelled on {on}", message=message,
            details=[f"Reason: {why}", "You can remove the scheduled cancellation until then."],
            org_title=f"{sub.number} will cancel at the end of its term ({on})",
            org_body=f"scheduled the cancellation. Reason: {why}.")
    return CancelResult(sub, END_OF_TERM, None, message)


def unused_time(session: Session, sub: Subscription, today: date) -> UnusedTime | None:
    """Credit for the rest of the current term, if that term's invoice was paid."""
    start, end = sub.current_term_start, sub.current_term_end
    if start is None or end is None or not start <= today < end:
        return None
    invoice = session.exec(select(Invoice).where(
        Invoice.customer_id == sub.customer_id, Invoice.subscription_id == sub.id,
        Invoice.period_start == start, Invoice.kind.in_(_TERM_KINDS), Invoice.status == "paid")
        .order_by(Invoice.id.desc())).first()
    if invoice is None or invoice.period_end is None:
        return None
    lines = [x for x in session.exec(select(InvoiceLine).where(
        InvoiceLine.invoice_id == invoice.id, InvoiceLine.kind.in_(_TIME_LINES))
        .order_by(InvoiceLine.position)) if x.amount]
    term_days = days_between(invoice.period_start, invoice.period_end)
    days_left = days_between(today, invoice.period_end)
    proration = prorate([Charge(x.kind, x.description, x.quantity, x.unit_amount,
                                amount=x.amount, discountable=False) for x in lines], [],
                        term_days=term_days, days_left=days_left)
    credit_lines = tuple(
        Line(c.kind, c.description, 1, c.unit_amount, c.unit_amount,
             half_up_div(x.tax_amount * days_left, term_days))
        for c, x in zip(proration.credits, lines, strict=True))
    subtotal = sum(x.amount for x in credit_lines)
    tax = sum(x.tax_amount for x in credit_lines)
    return UnusedTime(invoice.id, invoice.number, days_left, term_days,
                      Priced(credit_lines, subtotal, tax, subtotal + tax))


# -- the retention offer ------------------------------------------------------------------

def retention_offer(ctx: Context, sub: Subscription) -> RetentionOffer | None:
    """The configured offer, if its coupon can still go on this subscription."""
    code, text = ctx.prefs.retention_coupon_code, ctx.prefs.retention_offer_text
    if not code or not text or sub.status not in _RETAINABLE:
        return None
    try:  # the rules Manage Subscription applies to a typed coupon code (one copy of them)
        coupon = subscription_changes._usable_coupon(ctx.session, sub, code, sub.plan_id,
                                                     ctx.today)
    except InvalidInput:
        return None
    return RetentionOffer(coupon.id, coupon.code, coupon.name, text)


def accept_retention_offer(session: Session, *, customer_id: int, subscription_id: int,
                           now: datetime) -> RetentionOffer:
    """Stay instead of cancelling: the retention coupon goes on the subscription."""
    ctx = context(session, now)
    sub = owned(ctx, customer_id, subscription_id)
    offer = _options(ctx, sub).retention
    if offer is None:
        raise DomainError("This offer is no longer available.")
    taken = session.execute(
        update(Coupon).where(Coupon.id == offer.coupon_id, or_(
            Coupon.max_redemptions.is_(None), Coupon.redemptions < Coupon.max_redemptions))
        .values(redemptions=Coupon.redemptions + 1).execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        raise DomainError("This offer is no longer available.")
    try:
        with session.begin_nested():  # a racing accept of the same offer inserted first
            session.add(SubscriptionCoupon(subscription_id=sub.id, coupon_id=offer.coupon_id,
                                           applied_at=now))
    except IntegrityError:
        raise DomainError("This offer is no longer available.") from None
    sub.updated_at = now
    confirm(ctx, sub, event=RETENTION_ACCEPTED, subject=f"Your offer on {sub.number}",
            message=f"Thank you for staying. Coupon {offer.code} ({offer.name}) is now on "
                    f"{sub.number}.", org_title=f"{sub.number}: retention offer accepted",
            org_body=f"took the retention offer ({offer.code}) instead of cancelling.")
    return offer


# -- Remove Scheduled Cancellation --------------------------------------------------------

def remove_cancellation(session: Session, *, customer_id: int, subscription_id: int,
                        now: datetime) -> Subscription:
    """Undo a term-end cancellation: back to the state it was scheduled from."""
    ctx = context(session, now)
    sub = owned(ctx, customer_id, subscription_id)
    preferences.require(ctx.prefs, cancel_permission(sub))
    back = sub.status_before_cancel or "live"
    state_machine.transition(session, sub, "remove_cancel", back, now=now,
                             status_before_cancel=None, cancel_reason="",
                             next_billing_date=sub.current_term_end)
    confirm(ctx, sub, event=CANCELLATION_REMOVED,
            subject=f"{sub.number} will continue",
            message=f"The scheduled cancellation of {sub.number} was removed; it continues "
                    f"as before.", org_title=f"{sub.number}: scheduled cancellation removed",
            org_body="removed the scheduled cancellation.")
    return sub
