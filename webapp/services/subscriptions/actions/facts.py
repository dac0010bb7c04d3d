"""Which actions a subscription offers now: the state machine and the preferences, combined once.

Templates show buttons from these facts and never compare states themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from webapp.services.core import preferences, state_machine
from webapp.services.core.dates import Moment
from webapp.services.core.i18n import _
from webapp.services.subscriptions.actions.cancel import allowed_timings
from webapp.services.subscriptions.actions.common import cancel_permission
from webapp.services.subscriptions.actions.schedule import (
    AutochargeView,
    autocharge_view,
    has_schedule,
    pausable,
)
from webapp.services.subscriptions.actions.terms import TrialExtension, trial_extension
from webapp.services.subscriptions.views import SubscriptionDetail, subscription_detail

_ENDED = {"cancelled": _("was cancelled"), "expired": _("has expired")}
_PAST_DUE = ("dunning", "unpaid")


@dataclass(frozen=True)
class TimelineItem:
    """A scheduled change with the undo the customer may use on it."""

    on: date | None
    label: str
    deletes_pause: bool  # Delete Schedule
    changes_pause: bool  # Change Schedule


@dataclass(frozen=True)
class PastDue:
    """The banner of a subscription with money past due: how much, and Pay Now for it."""

    amount: int
    currency: str
    invoice_ids: tuple[int, ...]


@dataclass(frozen=True)
class SubscriptionActions:
    subscription_id: int
    status: str
    status_label: str
    status_on: date | None  # the day the badge names
    payment_in_progress: bool
    can_activate: bool
    trial_extension: TrialExtension | None  # Extend Trial's offer
    can_cancel: bool
    cancel_timings: tuple[str, ...]
    can_remove_cancellation: bool
    ended: str | None  # the banner: "was cancelled" / "has expired"
    ended_on: date | None
    can_reactivate: bool
    can_pause: bool  # Pause & Resume (or Change Schedule once one is set)
    has_pause_schedule: bool
    can_delete_pause: bool
    autocharge: AutochargeView
    timeline: tuple[TimelineItem, ...]
    # The banner at the top of the page: at most one of these, each with its one action.
    past_due: PastDue | None = None  # Pay Now
    trial_ends_on: date | None = None  # Proceed to Activate (or add a payment method)
    needs_payment_method: bool = False  # a trial that cannot be charged: Payment Methods
    ends_on: date | None = None  # scheduled to cancel: Remove Scheduled Cancellation
    paused: bool = False  # Change Schedule (the resume date)
    resumes_on: date | None = None

    @property
    def pause_button(self) -> bool:
        """Pause & Resume on the action bar; a set schedule is changed from the timeline."""
        return self.can_pause and not self.has_pause_schedule


def available(session: Session, detail: SubscriptionDetail, *, at: Moment) -> SubscriptionActions:
    """The actions `detail`'s subscription offers now (no queries beyond the preferences, and
    the customer's default card when the subscription has none)."""
    sub = detail.subscription
    prefs = preferences.load(session)
    busy = sub.awaiting_payment_id is not None

    def may(action: str, event: str) -> bool:
        return not busy and preferences.allowed(prefs, action) and \
            state_machine.allowed(sub.status, event)

    cancel_allowed = not busy and preferences.allowed(prefs, cancel_permission(sub))
    timings = allowed_timings(prefs, sub) if cancel_allowed else ()
    remove = cancel_allowed and state_machine.allowed(sub.status, "remove_cancel")
    pause = not busy and pausable(prefs, sub)
    delete_pause = pause and has_schedule(sub)
    ended = _ENDED.get(sub.status)
    paused = sub.status == "paused"
    autocharge = autocharge_view(prefs, sub, detail.payment_method, session)
    return SubscriptionActions(
        subscription_id=sub.id, status=sub.status, status_label=detail.row.status_label,
        status_on=detail.row.status_on,
        payment_in_progress=busy, can_activate=may(preferences.TRIAL_ACTIVATE, "activate"),
        trial_extension=None if busy else trial_extension(session, prefs, sub),
        can_cancel=bool(timings), cancel_timings=timings, can_remove_cancellation=remove,
        ended=ended, ended_on=sub.cancelled_on if ended else None,
        can_reactivate=may(preferences.SUBSCRIPTION_REACTIVATE, "reactivate")
        and not state_machine.never_started(sub), can_pause=pause,
        has_pause_schedule=sub.pause_on is not None or sub.resume_on is not None,
        can_delete_pause=delete_pause,
        autocharge=autocharge,
        timeline=tuple(_item(entry, delete_pause, pause) for entry in detail.timeline),
        past_due=_past_due(detail), trial_ends_on=sub.trial_end if sub.status == "trial" else None,
        needs_payment_method=sub.status == "trial" and not autocharge.has_method,
        ends_on=sub.current_term_end if sub.status == "non_renewing" else None,
        paused=paused, resumes_on=sub.resume_on if paused else None)


def _past_due(detail: SubscriptionDetail) -> PastDue | None:
    """Past due: in dunning or unpaid, or an invoice of it is overdue."""
    payable = [inv for inv in detail.unpaid_invoices if inv.payable]
    if not payable or not (detail.subscription.status in _PAST_DUE
                           or any(inv.status == "overdue" for inv in payable)):
        return None
    return PastDue(sum(inv.balance for inv in payable), detail.subscription.currency,
                   tuple(inv.id for inv in payable))


def _item(entry, delete_pause: bool, pause: bool) -> TimelineItem:
    # A scheduled cancellation is removed, and a paused subscription's resume date changed,
    # from the banner at the top of the page; a schedule still to start from its pause entry.
    return TimelineItem(entry.on, entry.label, entry.kind == "pause" and delete_pause,
                        pause and entry.kind == "pause")


@dataclass(frozen=True)
class Overview:
    detail: SubscriptionDetail
    actions: SubscriptionActions


def overview(session: Session, *, customer_id: int, subscription_id: int,
             at: Moment) -> Overview:
    """The subscription with its actions, for the page and for the fragments htmx swaps."""
    detail = subscription_detail(session, customer_id=customer_id,
                                 subscription_id=subscription_id, at=at)
    return Overview(detail, available(session, detail, at=at))
