"""Cancel (trial or paid), now or at the end of the term; the retention offer; and Remove
Scheduled Cancellation.

Which timings a customer sees is the preference (`cancel_timings`) narrowed by the state
machine. `cancel_subscription` is the one cancellation, for the customer and the back office
alike (the admin chooses the timing and the credit instead of the preferences): an immediate
one credits, when asked to, the unused days of what the customer holds now
(`billing.unused_time`, DESIGN.md: Proration). The credit note is applied to that invoice
first when it is still open, so only the used days stay due, then to the other open invoices.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from webapp.models import (
    CreditNote,
    Invoice,
    Subscription,
    SubscriptionCoupon,
)
from webapp.services.billing import catalog, changes, ledger, tax
from webapp.services.billing import terms as billing
from webapp.services.billing.context import Context, confirm, context, customer_locale
from webapp.services.billing.terms import UnusedTime
from webapp.services.core import notifications, preferences, state_machine, wording
from webapp.services.core.dates import Dated, Moment, dated, format_day, plain
from webapp.services.core.errors import DomainError, InvalidInput
from webapp.services.core.i18n import N_, _, ngettext
from webapp.services.core.money import Amount
from webapp.services.subscriptions.actions.common import (
    CANCELLATION_REMOVED,
    RETENTION_ACCEPTED,
    cancel_permission,
    owned,
)

IMMEDIATELY, END_OF_TERM = "immediately", "end_of_term"
_EVENTS = {IMMEDIATELY: "cancel_now", END_OF_TERM: "schedule_cancel"}
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
class CancelOptions:
    subscription: Subscription
    timings: tuple[str, ...]
    reasons: tuple[str, ...]
    retention: RetentionOffer | None
    unused: UnusedTime | None  # credited on an immediate cancellation (preference)
    term_end: date | None  # when an end-of-term cancellation takes effect

    @property
    def default_timing(self) -> str:
        """The gentler choice comes first: the end of the term whenever it is offered."""
        return END_OF_TERM if END_OF_TERM in self.timings else self.timings[0]

    @property
    def choices(self) -> tuple[str, ...]:
        """The timings as the form lists them: the default first."""
        return (self.default_timing,) + tuple(t for t in self.timings
                                              if t != self.default_timing)

    @property
    def available_until(self) -> date | None:
        """Until when the service stays available on the default timing (None: it ends now)."""
        return self.term_end if self.default_timing == END_OF_TERM else None


@dataclass(frozen=True)
class CancelResult:
    subscription: Subscription
    timing: str
    credit_note: CreditNote | None
    message: Dated  # the web layer formats its dates


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
    unused = unused_time(ctx.session, sub, ctx.at) \
        if ctx.prefs.cancel_credit_unused and IMMEDIATELY in timings else None
    return CancelOptions(sub, timings, tuple(ctx.prefs.cancellation_reasons),
                         retention_offer(ctx, sub), unused,
                         sub.current_term_end if END_OF_TERM in timings else None)


def cancel(session: Session, *, customer_id: int, subscription_id: int, timing: str,
           reason: str, details: str, now: datetime) -> CancelResult:
    """Cancel now (crediting unused time, by the preference) or at the end of the term."""
    ctx = context(session, now)
    sub = owned(ctx, customer_id, subscription_id)
    options = _options(ctx, sub)
    if timing not in options.timings:
        raise InvalidInput(_("Choose when the cancellation takes effect."), field="timing")
    if reason not in options.reasons:
        raise InvalidInput(_("Choose a reason from the list."), field="reason")
    details = (details or "").strip()
    if len(details) > MAX_DETAILS:
        raise InvalidInput(ngettext("Use at most %(num)d character.",
                                    "Use at most %(num)d characters.", MAX_DETAILS),
                           field="details")
    why = f"{reason}: {details}" if details else reason
    result = cancel_subscription(ctx, sub, timing=timing, why=why,
                                 credit_unused=ctx.prefs.cancel_credit_unused)
    if timing == IMMEDIATELY:
        confirm(ctx, sub, event=notifications.SUBSCRIPTION_CANCELLED,
                subject=_("%(number)s is cancelled", number=sub.number),
                message=result.message,
                details=[dated(N_("Reason: %(reason)s"), reason=why)],
                org_title=N_("%(number)s cancelled by the customer"),
                org_body=N_("cancelled it now. Reason: %(reason)s.%(credit)s"),
                org_params={"number": sub.number, "reason": why,
                            "credit": credit_sentence(result.credit_note)})
    else:
        on = ctx.day(sub.current_term_end) if sub.current_term_end else \
            notifications.message(N_("the end of the term"))
        subject = _("%(number)s will be cancelled on %(day)s", number=sub.number,
                    day=format_day(sub.current_term_end, customer_locale(ctx, sub))) \
            if sub.current_term_end else \
            _("%(number)s will be cancelled on the end of the term", number=sub.number)
        confirm(ctx, sub, event=notifications.SUBSCRIPTION_CANCELLED,
                subject=subject, message=result.message,
                details=[dated(N_("Reason: %(reason)s"), reason=why),
                         dated(N_("You can remove the scheduled cancellation until then."))],
                org_title=N_("%(number)s will cancel at the end of its term (%(on)s)"),
                org_body=N_("scheduled the cancellation. Reason: %(reason)s."),
                org_params={"number": sub.number, "on": on, "reason": why})
    return result


def cancel_subscription(ctx: Context, sub: Subscription, *, timing: str, why: str,
                        credit_unused: bool) -> CancelResult:
    """The one cancellation, for the customer's and the admin's own checks: the state
    machine decides, and cancelling now credits the unused time when `credit_unused`."""
    if timing == IMMEDIATELY:
        unused = unused_time(ctx.session, sub, ctx.at) if credit_unused else None
        state_machine.transition(ctx.session, sub, "cancel_now", "cancelled", now=ctx.now,
                                 cancelled_on=ctx.today, cancel_reason=why,
                                 next_billing_date=None, status_before_cancel=None,
                                 pause_on=None, resume_on=None, next_retry_on=None)
        note = credit_unused_time(ctx.session, sub, unused, at=ctx.at)
        if unused is not None:
            sub.held_invoice_id = None  # its unused days are credited: nothing is held now
        return CancelResult(sub, IMMEDIATELY, note,
                            dated(N_("%(number)s is cancelled."), number=sub.number)
                            + credit_sentence(note))
    if timing != END_OF_TERM:
        raise InvalidInput(_("Choose when the cancellation takes effect."), field="timing")
    state_machine.transition(ctx.session, sub, "schedule_cancel", "non_renewing", now=ctx.now,
                             status_before_cancel=sub.status, cancel_reason=why,
                             next_billing_date=None, pause_on=None, resume_on=None)
    ending = dated(N_("%(number)s will be cancelled on %(on)s, at the end of the current "
                      "term."), number=sub.number, on=sub.current_term_end) \
        if sub.current_term_end else \
        dated(N_("%(number)s will be cancelled at the end of the current term."),
              number=sub.number)
    return CancelResult(sub, END_OF_TERM, None, ending)


def credit_sentence(note: CreditNote | None) -> Dated:
    """What the customer is told about the credit for unused time (nothing without one): a
    sentence that follows another one (it starts with a space)."""
    if note is None:
        return plain("")
    text = N_("Credit note %(number)s gives you %(credit)s for the unused time; it has been "
              "applied to your open invoices.") if note.balance < note.total else \
        N_("Credit note %(number)s gives you %(credit)s for the unused time; it is used on "
           "your next invoice.")
    return plain(" ") + dated(text, number=note.number, credit=Amount(note.total, note.currency))


def credit_unused_time(session: Session, sub: Subscription, unused: UnusedTime | None, *,
                       at: Moment) -> CreditNote | None:
    """The credit note for the unused time of a subscription cancelled now (None: nothing),
    applied to the invoice it credits first while that is still open."""
    if unused is None or unused.total <= 0:
        return None
    return ledger.create_credit_note(
        session, customer_id=sub.customer_id, currency=sub.currency, total=unused.total,
        reason=wording.write(wording.UNUSED_ON, number=sub.number, days=unused.days_left,
                            term=unused.term_days),
        issue_date=at.today, now=at.now, invoice_id=unused.invoice_id, subscription_id=sub.id,
        apply_first=session.get(Invoice, unused.invoice_id))


def unused_time(session: Session, sub: Subscription, at: Moment) -> UnusedTime | None:
    """What cancelling now would credit: the unused days of what the customer holds now."""
    return billing.unused_time(session, sub, at,
                               tax=tax.tax_for(session, sub.customer_id))


# -- the retention offer ------------------------------------------------------------------

def retention_offer(ctx: Context, sub: Subscription) -> RetentionOffer | None:
    """The configured offer, if its coupon can still go on this subscription."""
    code, text = ctx.prefs.retention_coupon_code, ctx.prefs.retention_offer_text
    if not code or not text or sub.status not in _RETAINABLE:
        return None
    try:  # the rules Manage Subscription applies to a typed coupon code (one copy of them)
        coupon = changes.usable_coupon(ctx.session, sub, code, sub.plan_id, ctx.at)
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
        raise DomainError(_("This offer is no longer available."))
    if not catalog.redeem(session, offer.coupon_id):
        raise DomainError(_("This offer is no longer available."))
    try:
        with session.begin_nested():  # a racing accept of the same offer inserted first
            session.add(SubscriptionCoupon(subscription_id=sub.id, coupon_id=offer.coupon_id,
                                           applied_at=now))
    except IntegrityError:
        raise DomainError(_("This offer is no longer available.")) from None
    sub.updated_at = now
    confirm(ctx, sub, event=RETENTION_ACCEPTED,
            subject=_("Your offer on %(number)s", number=sub.number),
            message=dated(N_("Thank you for staying. Coupon %(code)s (%(name)s) is now on "
                             "%(number)s."), code=offer.code, name=offer.name, number=sub.number),
            org_title=N_("%(number)s: retention offer accepted"),
            org_body=N_("took the retention offer (%(code)s) instead of cancelling."),
            org_params={"number": sub.number, "code": offer.code})
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
            subject=_("%(number)s will continue", number=sub.number),
            message=dated(N_("The scheduled cancellation of %(number)s was removed; it continues "
                             "as before."), number=sub.number),
            org_title=N_("%(number)s: scheduled cancellation removed"),
            org_body=N_("removed the scheduled cancellation."), org_params={"number": sub.number})
    return sub
