"""Auto-charge on or off, and the Pause & Resume schedule (Change Schedule, Delete Schedule).

The tick (lifecycle) pauses and resumes on `pause_on` / `resume_on`; these actions only set
those dates, so there is one place where a subscription actually pauses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from webapp.models import PaymentMethod, Subscription
from webapp.services.billing import terms
from webapp.services.billing.context import Context, confirm, context
from webapp.services.core import preferences, state_machine
from webapp.services.core.dates import Dated, dated
from webapp.services.core.errors import DomainError, InvalidInput
from webapp.services.core.i18n import N_, _, ngettext
from webapp.services.subscriptions.actions.common import (
    AUTOCHARGE_CHANGED,
    PAUSE_SCHEDULE_DELETED,
    PAUSE_SCHEDULED,
    billable,
    owned,
)


class NoPaymentMethod(DomainError):
    """Auto-charge needs a saved card on the subscription."""

    def __init__(self) -> None:
        super().__init__(_("Add a payment method before turning on auto-charge."))


@dataclass(frozen=True)
class AutochargeView:
    """The auto-charge switch and its note."""

    subscription_id: int
    enabled: bool
    can_toggle: bool  # the preference is on and the subscription still bills
    method_label: str | None  # "Visa •••• 4242"; None without a payment method
    # Without a method: the customer's default card, offered in one step ("Use Visa •••• 4242")
    default_label: str | None = None

    @property
    def has_method(self) -> bool:
        return self.method_label is not None


def _label(method: PaymentMethod) -> str:
    return f"{method.brand} •••• {method.last4}"


def default_card(session: Session, customer_id: int) -> PaymentMethod | None:
    """The customer's default saved card, if any."""
    return session.exec(select(PaymentMethod).where(
        PaymentMethod.customer_id == customer_id, PaymentMethod.status == "active",
        PaymentMethod.is_default)).first()


def autocharge_view(prefs, sub: Subscription, method: PaymentMethod | None,
                    session: Session | None = None) -> AutochargeView:
    """The switch; given a session, a subscription without a card is offered the customer's
    default card (one query, only then)."""
    usable = method is not None and method.status == "active"
    can_toggle = preferences.allowed(prefs, preferences.SUBSCRIPTION_AUTOCHARGE) and billable(sub)
    default = default_card(session, sub.customer_id) \
        if session is not None and can_toggle and not usable else None
    return AutochargeView(sub.id, sub.autocharge and usable, can_toggle,
                          _label(method) if usable else None,
                          _label(default) if default is not None else None)


def _billable_with_method(session: Session, customer_id: int, subscription_id: int,
                          now: datetime):
    """The customer's subscription that can still be billed (auto-charge allowed), and the
    payment method it has now (None without one)."""
    ctx = context(session, now)
    preferences.require(ctx.prefs, preferences.SUBSCRIPTION_AUTOCHARGE)
    sub = owned(ctx, customer_id, subscription_id)
    if not billable(sub):
        state_machine.check(sub.status, "cancel_now")  # says why: it has ended
    method = session.get(PaymentMethod, sub.payment_method_id) if sub.payment_method_id else None
    return ctx, sub, method


def use_default_card(session: Session, *, customer_id: int, subscription_id: int,
                     now: datetime) -> AutochargeResult:
    """Attach the customer's default card to a subscription that has none (one click)."""
    ctx, sub, current = _billable_with_method(session, customer_id, subscription_id, now)
    if current is not None and current.status == "active":
        return AutochargeResult(autocharge_view(ctx.prefs, sub, current), False,
                                _("%(number)s already uses %(card)s.", number=sub.number,
                                  card=_label(current)))
    card = default_card(session, customer_id)
    if card is None:
        raise NoPaymentMethod()
    sub.payment_method_id, sub.updated_at = card.id, now
    message = _("%(number)s now uses %(card)s. Turn auto-charge on to pay its invoices with "
                "it.", number=sub.number, card=_label(card))
    return AutochargeResult(autocharge_view(ctx.prefs, sub, card), True, message)


@dataclass(frozen=True)
class AutochargeResult:
    view: AutochargeView
    changed: bool
    message: Dated | str  # a lazy text (`i18n._`) when no mail repeats it


def set_autocharge(session: Session, *, customer_id: int, subscription_id: int, enabled: bool,
                   now: datetime) -> AutochargeResult:
    """Switch auto-charge; switching it on needs a saved payment method."""
    ctx, sub, method = _billable_with_method(session, customer_id, subscription_id, now)
    if enabled and (method is None or method.status != "active"):
        raise NoPaymentMethod()
    changed = sub.autocharge != enabled
    sub.autocharge, sub.updated_at = enabled, now
    message = dated(N_("Auto-charge is on: %(number)s is charged to %(card)s when invoices "
                       "are issued."), number=sub.number, card=_label(method)) if enabled else \
        dated(N_("Auto-charge is off: invoices for %(number)s are emailed for you to pay."),
              number=sub.number)
    if changed:
        confirm(ctx, sub, event=AUTOCHARGE_CHANGED,
                subject=_("Auto-charge turned on for %(number)s", number=sub.number)
                if enabled else _("Auto-charge turned off for %(number)s", number=sub.number),
                message=message,
                org_title=N_("%(number)s: auto-charge on") if enabled else
                N_("%(number)s: auto-charge off"),
                org_body=N_("turned auto-charge on.") if enabled else
                N_("turned auto-charge off."), org_params={"number": sub.number})
    return AutochargeResult(autocharge_view(ctx.prefs, sub, method, session), changed, message)


# -- Pause & Resume ---------------------------------------------------------------------------

# When a pause starts (issue 30): on a date the customer picks, or when the current term ends.
ON_DATE, AT_TERM_END = "on_date", "term_end"
PAUSE_WHEN = (ON_DATE, AT_TERM_END)

@dataclass(frozen=True)
class PauseOptions:
    subscription: Subscription
    paused: bool  # already paused: only the resume date can change
    pause_on: date | None
    resume_on: date | None
    earliest: date  # today
    max_days: int
    can_delete: bool
    term_end: date | None = None  # where "at the end of the term" pauses (None: not offered)


@dataclass(frozen=True)
class PauseResult:
    subscription: Subscription
    message: Dated  # the web layer formats its dates


def pausable(prefs, sub: Subscription) -> bool:
    """A schedule can be set (live) or its resume date changed (paused)."""
    return preferences.allowed(prefs, preferences.SUBSCRIPTION_PAUSE) and (
        state_machine.allowed(sub.status, "pause") or state_machine.allowed(sub.status, "resume"))


def has_schedule(sub: Subscription) -> bool:
    """A pause is scheduled on a live subscription (Delete Schedule can remove it)."""
    return state_machine.allowed(sub.status, "pause") and sub.pause_on is not None


def pause_options(session: Session, *, customer_id: int, subscription_id: int,
                  now: datetime) -> PauseOptions:
    """What the Pause & Resume form shows for this subscription now."""
    ctx = context(session, now)
    return _options(ctx, owned(ctx, customer_id, subscription_id))


def _options(ctx: Context, sub: Subscription) -> PauseOptions:
    preferences.require(ctx.prefs, preferences.SUBSCRIPTION_PAUSE)
    if not pausable(ctx.prefs, sub):
        state_machine.check(sub.status, "pause")  # says why
    can_pause = state_machine.allowed(sub.status, "pause")
    return PauseOptions(sub, not can_pause, sub.pause_on, sub.resume_on, ctx.today,
                        ctx.prefs.pause_max_days, has_schedule(sub),
                        sub.current_term_end if can_pause else None)


def schedule_pause(session: Session, *, customer_id: int, subscription_id: int,
                   pause_on: date | None, resume_on: date | None, now: datetime,
                   when: str = ON_DATE) -> PauseResult:
    """Set (or change) when the subscription pauses and resumes; the tick does the rest.
    `when`: on `pause_on`, or at the end of the current term (`pause_on` is then ignored)."""
    ctx = context(session, now)
    sub = owned(ctx, customer_id, subscription_id)
    _options(ctx, sub)
    message = set_pause_schedule(ctx, sub, pause_on=pause_on, resume_on=resume_on, when=when)
    confirm(ctx, sub, event=PAUSE_SCHEDULED,
            subject=_("Pause schedule for %(number)s", number=sub.number),
            message=message, details=[dated(N_("No invoices are issued while it is paused."))],
            org_title=N_("%(number)s: pause scheduled"), org_body=N_("%(message)s"),
            org_params={"number": sub.number, "message": message})
    return PauseResult(sub, message)


def set_pause_schedule(ctx: Context, sub: Subscription, *, pause_on: date | None,
                       resume_on: date | None, when: str = ON_DATE) -> Dated:
    """The one pause schedule, for the customer and the back office: the state machine, the
    dates and the longest pause are billing rules (the pause switch is the caller's).
    `when` AT_TERM_END pauses on the current term's last day (its end date), nothing unused."""
    if state_machine.allowed(sub.status, "pause"):
        if when not in PAUSE_WHEN:
            raise InvalidInput(_("Choose when the pause starts."), field="pause_when")
        if when == AT_TERM_END:
            if sub.current_term_end is None:
                raise InvalidInput(_("This subscription has no term to end yet."),
                                   field="pause_when")
            pause_on = sub.current_term_end
        pause_on, resume_on = _validated(ctx, pause_on, resume_on)
        sub.pause_on, sub.resume_on = pause_on, resume_on
        text = N_("%(number)s pauses at the end of its term, on %(pause_on)s, and resumes on "
                  "%(resume_on)s.") if when == AT_TERM_END else \
            N_("%(number)s pauses on %(pause_on)s and resumes on %(resume_on)s.")
        message = dated(text, number=sub.number, pause_on=pause_on, resume_on=resume_on)
    elif state_machine.allowed(sub.status, "resume"):
        resume_on = _resume_of_paused(ctx, resume_on)
        terms.move_resume_date(sub, resume_on)
        message = dated(N_("%(number)s resumes on %(resume_on)s."), number=sub.number,
                        resume_on=resume_on)
    else:
        state_machine.check(sub.status, "pause")  # says why
    sub.updated_at = ctx.now
    return message


def _validated(ctx: Context, pause_on: date | None, resume_on: date | None) -> tuple[date, date]:
    longest = ctx.prefs.pause_max_days
    if pause_on is None:
        raise InvalidInput(_("Choose the day the pause starts."), field="pause_on")
    if pause_on < ctx.today:
        raise InvalidInput(_("The pause cannot start before today."), field="pause_on")
    if resume_on is None:
        # Without a resume date the pause lasts as long as the organization allows.
        return pause_on, pause_on + timedelta(days=longest)
    if resume_on <= pause_on:
        raise InvalidInput(_("Resume after the pause starts."), field="resume_on")
    if (resume_on - pause_on).days > longest:
        raise InvalidInput(_longest(longest), field="resume_on")
    return pause_on, resume_on


def _resume_of_paused(ctx: Context, resume_on: date | None) -> date:
    # The day it paused is no longer stored, so the longest pause counts from today.
    longest = ctx.prefs.pause_max_days
    if resume_on is None:
        raise InvalidInput(_("Choose the day it resumes."), field="resume_on")
    if resume_on < ctx.today:
        raise InvalidInput(_("The resume date cannot be before today."), field="resume_on")
    if (resume_on - ctx.today).days > longest:
        raise InvalidInput(_longest(longest), field="resume_on")
    return resume_on


def _longest(days: int):
    # (English says "1 days" too: the plural forms are the translations')
    return ngettext("A pause lasts at most %(num)d days.", "A pause lasts at most %(num)d days.",
                    days)


def delete_pause_schedule(session: Session, *, customer_id: int, subscription_id: int,
                          now: datetime) -> Subscription:
    """Delete Schedule: the scheduled pause and its resume date are removed."""
    ctx = context(session, now)
    sub = owned(ctx, customer_id, subscription_id)
    if not _options(ctx, sub).can_delete:
        raise DomainError(_("There is no pause schedule to delete."))
    sub.pause_on = sub.resume_on = None
    sub.updated_at = now
    confirm(ctx, sub, event=PAUSE_SCHEDULE_DELETED,
            subject=_("Pause schedule removed from %(number)s", number=sub.number),
            message=dated(N_("The pause schedule of %(number)s was deleted; it continues as "
                             "before."), number=sub.number),
            org_title=N_("%(number)s: pause schedule deleted"),
            org_body=N_("deleted the pause schedule."), org_params={"number": sub.number})
    return sub
