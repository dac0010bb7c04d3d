"""The subscription state machine (DESIGN.md), as a table; anything not in it is an error.

Every transition is a guarded UPDATE (`... WHERE id = :id AND status = :from`), so of two racing
requests or workers exactly one wins and the other gets a clear message.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session

from webapp.models import Subscription
from webapp.services.core import events
from webapp.services.core.errors import IllegalTransition
from webapp.services.core.i18n import N_, _

ALL_LIVE_STATES = ("future", "trial", "live", "non_renewing", "paused", "dunning", "unpaid")

# event -> {from state -> allowed target states}
TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    "start": {"future": frozenset({"trial", "live"})},
    "activate": {"trial": frozenset({"live"})},
    "trial_converted": {"trial": frozenset({"live"})},
    "trial_charge_failed": {"trial": frozenset({"expired"})},
    "extend_trial": {"expired": frozenset({"trial"})},
    "schedule_cancel": {"trial": frozenset({"non_renewing"}), "live": frozenset({"non_renewing"})},
    "remove_cancel": {"non_renewing": frozenset({"trial", "live"})},
    "term_end_cancel": {"non_renewing": frozenset({"cancelled"})},
    "cancel_now": {state: frozenset({"cancelled"}) for state in ALL_LIVE_STATES},
    "renew": {"live": frozenset({"live"})},
    "renewal_failed": {"live": frozenset({"dunning"})},
    "retry_failed": {"dunning": frozenset({"dunning"})},
    "payment_succeeded": {"dunning": frozenset({"live"}), "unpaid": frozenset({"live"})},
    "dunning_exhausted": {"dunning": frozenset({"unpaid", "cancelled"})},
    # An invoice nobody charges stayed unpaid past the organization's limit (its setting).
    "overdue": {"live": frozenset({"unpaid", "cancelled"})},
    "pause": {"live": frozenset({"paused"})},
    "resume": {"paused": frozenset({"live"})},
    "change_now": {"live": frozenset({"live"})},
    "change_at_term_end": {"live": frozenset({"live"})},
    # A change during a trial is written at once and billed from the trial's end (issue 30).
    "change_in_trial": {"trial": frozenset({"trial"})},
    "reactivate": {"cancelled": frozenset({"live"}), "expired": frozenset({"live"})},
    "cycles_complete": {"live": frozenset({"expired"})},
    # Zoho's "Creation failed" (issue 30): a new subscription whose first charge is declined
    # is not started (no dunning); an admin retries it (a new first charge) or discards it.
    "creation_failed": {"future": frozenset({"creation_failed"})},
    "retry_creation": {"creation_failed": frozenset({"future"})},
    "discard": {"creation_failed": frozenset({"cancelled"})},
}

# What a subscription "cannot ..." (an infinitive phrase, translated in the refusal below).
EVENT_PHRASES = {
    "start": N_("start"), "activate": N_("be activated"), "trial_converted": N_("end its trial"),
    "trial_charge_failed": N_("end its trial"), "extend_trial": N_("have its trial extended"),
    "schedule_cancel": N_("be scheduled for cancellation"),
    "remove_cancel": N_("have a scheduled cancellation removed"),
    "term_end_cancel": N_("end its term"), "cancel_now": N_("be cancelled"),
    "renew": N_("renew"), "renewal_failed": N_("go into dunning"),
    "retry_failed": N_("retry a payment"), "payment_succeeded": N_("return to live"),
    "dunning_exhausted": N_("end dunning"), "overdue": N_("be stopped for an overdue invoice"),
    "pause": N_("be paused"), "resume": N_("be resumed"), "change_now": N_("be changed"),
    "change_at_term_end": N_("be changed at the end of the term"),
    "change_in_trial": N_("be changed during its trial"), "reactivate": N_("be reactivated"),
    "cycles_complete": N_("expire"), "creation_failed": N_("fail its creation"),
    "retry_creation": N_("be retried"), "discard": N_("be discarded"),
}
# The refusal for each state, whole ("%(action)s" is one of EVENT_PHRASES).
CANNOT = {
    "future": N_("A future subscription cannot %(action)s."),
    "trial": N_("A trial subscription cannot %(action)s."),
    "live": N_("A live subscription cannot %(action)s."),
    "non_renewing": N_("A non-renewing subscription cannot %(action)s."),
    "paused": N_("A paused subscription cannot %(action)s."),
    "dunning": N_("A dunning subscription cannot %(action)s."),
    "unpaid": N_("An unpaid subscription cannot %(action)s."),
    "cancelled": N_("A cancelled subscription cannot %(action)s."),
    "expired": N_("An expired subscription cannot %(action)s."),
    "creation_failed": N_("A failed new subscription cannot %(action)s."),
}


def allowed(status: str, event: str) -> bool:
    return status in TRANSITIONS.get(event, {})


def never_started(sub) -> bool:
    """A subscription discarded after its creation failed (cancelled, its first charge never
    taken): it has no term to come back to, so it cannot be reactivated; a new one is made."""
    return sub.status == "cancelled" and sub.creation_error is not None


NEVER_STARTED = _("This subscription never started (its first payment failed), so it cannot "
                  "be reactivated. Start a new subscription instead.")


def changeable(status: str) -> bool:
    """Plan, addons and coupons may change in this state: now (live) or during a trial."""
    return allowed(status, "change_now") or allowed(status, "change_in_trial")


def check(status: str, event: str, to: str | None = None) -> None:
    """Raise IllegalTransition unless the table has (status, event[, to])."""
    targets = TRANSITIONS.get(event, {}).get(status)
    if targets is None or (to is not None and to not in targets):
        action = _(EVENT_PHRASES[event]) if event in EVENT_PHRASES else event
        if status in CANNOT:
            raise IllegalTransition(_(CANNOT[status], action=action))
        article = "An" if status[:1] in tuple("aeiou") else "A"
        raise IllegalTransition(f"{article} {status} subscription cannot {action}.")


def transition(session: Session, sub: Subscription, event: str, to: str, *, now: datetime,
               guard: dict | None = None, **values) -> None:
    """Move `sub` from its current state to `to` by a guarded update, with other changes.

    `guard` adds column == value conditions (e.g. the next billing date a worker claimed), so a
    second runner of the same due event matches no row. The webhook event the transition
    stands for (`events.transition_type`) is written with it.
    """
    check(sub.status, event, to)
    before = sub.status
    conditions = [getattr(Subscription, name) == value for name, value in (guard or {}).items()]
    result = session.execute(
        update(Subscription)
        .where(Subscription.id == sub.id, Subscription.status == sub.status, *conditions)
        .values(status=to, updated_at=now, **values)
        .execution_options(synchronize_session="evaluate"))
    if result.rowcount != 1:
        session.refresh(sub)
        raise IllegalTransition(_("This subscription was changed a moment ago. "
                                  "Reload the page to see where it stands."))
    webhook_type = events.transition_type(event, to)
    if webhook_type is not None:
        events.emit(session, webhook_type, events.public("subscription", sub), now=now,
                    previous={"status": before})
    changed(session, sub.id, now=now)


CHANGED = "subscriptions_changed"  # session.info key: {subscription id: when it changed}


def changed(session: Session, subscription_id: int, *, now: datetime) -> None:
    """Note that a subscription's state or items changed in this transaction: its MRR
    movement, if any, is recorded before the commit (billing/mrr.py, issue 31). Every
    transition notes itself; a change of items (billing.changes) or a new subscription
    (admin.subscriptions) notes itself here."""
    session.info.setdefault(CHANGED, {})[subscription_id] = now
