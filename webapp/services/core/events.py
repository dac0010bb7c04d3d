"""Events for the business's own systems (webhooks): what happened, written with the change.

`emit` writes a `WebhookEvent` in the caller's transaction, with one pending delivery per
enabled endpoint subscribed to its type, so a rolled-back change sends nothing and a
committed one is never lost (the outbox pattern the mail uses). Sending is the
`webhooks` package's work, run by the schedule, never by a request.

This module is the catalogue too: every event type, the object it carries and that object's
public fields (`OBJECTS`). The payload is built from these definitions alone, and
docs/webhooks.md is generated from them (`webhooks.docs.render`), so the docs cannot drift.

It sits in `core` because the events are emitted where things change, in every feature
package (the subscription state machine here in core, billing's ledger, payments,
engagement, accounts): a low-level API each of them may call. The rest of webhooks
(endpoints, signing, the sender, the log) is its own package above core.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, select

from webapp.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from webapp.services.core import bulk
from webapp.services.core.i18n import N_

ALL_TYPES = "*"  # an endpoint subscribed to every type
# session.info keys: the enabled endpoints (id, types), read once per transaction; whether
# the transaction wrote deliveries (`commit_and_dispatch` then asks a worker to send them).
ENDPOINTS_KEY = "webhook_endpoints"
WRITTEN_KEY = "webhook_deliveries_written"


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # as documented: integer, string, date, datetime, boolean, amount, list, …
    description: str


@dataclass(frozen=True)
class EventType:
    name: str  # "<object>.<verb>"
    description: str
    previous: tuple[str, ...] = ()  # the fields `data.previous` holds, for a change

    @property
    def object(self) -> str:
        return self.name.split(".", 1)[0]


def _f(name: str, kind: str, description: str) -> Field:
    return Field(name, kind, description)


MINOR = "integer (minor units)"
OBJECTS: dict[str, tuple[Field, ...]] = {
    "subscription": (
        _f("id", "integer", "The subscription's id."),
        _f("number", "string", "Its number, as on the customer's pages (SUB-000001)."),
        _f("customer_id", "integer", "The customer it belongs to."),
        _f("plan_id", "integer", "Its plan."),
        _f("status", "string", "future, trial, live, non_renewing, paused, dunning, unpaid, "
                               "cancelled or expired."),
        _f("currency", "string", "ISO 4217 code of its prices."),
        _f("start_date", "date", "When it starts (or started)."),
        _f("trial_end", "date or null", "The last day of its trial, if it has one."),
        _f("current_term_start", "date or null", "The first day of the current term."),
        _f("current_term_end", "date or null", "The day the current term ends."),
        _f("next_billing_date", "date or null", "When it is next invoiced."),
        _f("autocharge", "boolean", "Whether its invoices are charged to the card on file."),
        _f("pause_on", "date or null", "A scheduled pause."),
        _f("resume_on", "date or null", "A scheduled resumption."),
        _f("cancelled_on", "date or null", "When it was (or will be) cancelled."),
        _f("cancel_reason", "string", "The reason the customer gave, if any."),
        _f("expired_reason", "string or null", "trial_end or term_end, once expired."),
    ),
    "invoice": (
        _f("id", "integer", "The invoice's id."),
        _f("number", "string", "Its number (INV-000001)."),
        _f("customer_id", "integer", "The customer it is for."),
        _f("subscription_id", "integer or null", "The subscription it bills, if any."),
        _f("kind", "string", "first_term, renewal, proration, reactivation or one_off."),
        _f("status", "string", "open, paid or void (overdue is an open invoice past due)."),
        _f("currency", "string", "ISO 4217 code."),
        _f("issue_date", "date", "Its date."),
        _f("due_date", "date", "When it is due."),
        _f("period_start", "date or null", "The first day it bills for."),
        _f("period_end", "date or null", "The day after the last day it bills for."),
        _f("subtotal", MINOR, "Before tax."),
        _f("tax_total", MINOR, "The tax."),
        _f("total", MINOR, "What it is for, tax included."),
        _f("amount_paid", MINOR, "Paid so far."),
        _f("credits_applied", MINOR, "Credit used on it so far."),
        _f("paid_on", "date or null", "When it was paid off."),
        _f("voided_on", "date or null", "When it was voided."),
    ),
    "payment": (
        _f("id", "integer", "The payment's id."),
        _f("number", "string or null", "Its receipt number (null until it succeeds)."),
        _f("customer_id", "integer", "The customer who paid."),
        _f("kind", "string", "payment or refund."),
        _f("status", "string", "pending, succeeded or failed."),
        _f("method", "string", "card, cash, bank_transfer, cheque or credit."),
        _f("amount", MINOR, "The amount."),
        _f("currency", "string", "ISO 4217 code."),
        _f("subscription_id", "integer or null", "The subscription it pays for, if any."),
        _f("refund_of_id", "integer or null", "For a refund: the payment refunded."),
        _f("failure_reason", "string or null", "Why it failed."),
        _f("paid_on", "date or null", "When it succeeded."),
    ),
    "payment_method": (
        _f("id", "integer", "The payment method's id."),
        _f("customer_id", "integer", "Whose card it is."),
        _f("brand", "string", "The card's brand (visa, mastercard, …)."),
        _f("last4", "string", "Its last four digits (never the number or the gateway's token)."),
        _f("exp_month", "integer", "Expiry month."),
        _f("exp_year", "integer", "Expiry year."),
        _f("is_default", "boolean", "Whether new charges use it."),
        _f("status", "string", "active or removed."),
    ),
    "customer": (
        _f("id", "integer", "The customer's id."),
        _f("display_name", "string", "Their name."),
        _f("company", "string", "Their company."),
        _f("email", "string", "Their email address."),
        _f("phone", "string", "Their phone number."),
        _f("currency", "string", "The currency they are invoiced in."),
        _f("billing_address", "string", "Billing address, one line per line."),
        _f("shipping_address", "string", "Shipping address."),
        _f("tax_id", "string", "Their tax id."),
        _f("locale", "string or null", "Their own locale, if they chose one."),
    ),
    "estimate": (
        _f("id", "integer", "The estimate's id."),
        _f("number", "string", "Its number."),
        _f("customer_id", "integer", "The customer it is for."),
        _f("status", "string", "draft, sent, accepted or declined."),
        _f("subject", "string", "Its subject."),
        _f("currency", "string", "ISO 4217 code."),
        _f("total", MINOR, "Its total, tax included."),
        _f("decision_reason", "string", "What the customer wrote when deciding."),
        _f("decided_at", "datetime or null", "When the customer decided."),
    ),
    "time_entry": (
        _f("id", "integer", "The time entry's id."),
        _f("project_id", "integer", "Its project."),
        _f("work_date", "date", "The day worked."),
        _f("minutes", "integer", "Time spent."),
        _f("customer_id", "integer", "The customer whose project it is."),
        _f("description", "string", "What was done."),
        _f("billable", "boolean", "Whether it is billed."),
        _f("approval", "string", "pending, approved or disapproved."),
        _f("disapproval_reason", "string", "Why the customer disapproved it."),
    ),
    "review": (
        _f("id", "integer", "The review's id."),
        _f("customer_id", "integer", "Who wrote it."),
        _f("rating", "integer", "1 to 5."),
        _f("body", "string", "What they wrote."),
        _f("created_at", "datetime", "When they wrote it."),
    ),
}


def _t(name: str, description: str, previous: tuple[str, ...] = ("status",)) -> EventType:
    return EventType(name, description, previous)


TYPES: dict[str, EventType] = {t.name: t for t in (
    _t("subscription.created", N_("A subscription was created."), ()),
    _t("subscription.activated", N_("A subscription started, or its trial became a paid term.")),
    _t("subscription.trial_extended", N_("An expired trial was extended.")),
    _t("subscription.changed", N_("Its plan, addons or quantities changed; `data.previous.items` "
                               "holds the items before and `data.object.items` after."),
       ("items",)),
    _t("subscription.cancellation_scheduled", N_("It will be cancelled at the end of its term.")),
    _t("subscription.cancellation_removed", N_("A scheduled cancellation was removed.")),
    _t("subscription.cancelled", N_("It was cancelled (now, at term end, or after dunning).")),
    _t("subscription.reactivated", N_("A cancelled or expired subscription was reactivated.")),
    _t("subscription.paused", N_("It was paused.")),
    _t("subscription.resumed", N_("A paused subscription was resumed.")),
    _t("subscription.expired", N_("Its trial or its last billing cycle ended.")),
    _t("subscription.unpaid", N_("Dunning (or an overdue invoice) left it unpaid.")),
    _t("invoice.created", N_("An invoice was issued."), ()),
    _t("invoice.paid", N_("An invoice was paid off.")),
    _t("invoice.voided", N_("An invoice was voided.")),
    _t("invoice.overdue", N_("An open invoice is past its due date: sent with each overdue "
                          "reminder (the organization's reminder days); "
                          "`data.object.days_overdue` says by how many days."), ()),
    _t("payment.succeeded", N_("A payment succeeded.")),
    _t("payment.failed", N_("A payment failed.")),
    _t("payment.refunded", N_("Money was refunded; the object is the refund (kind refund)."), ()),
    _t("payment_method.added", N_("A card was saved."), ()),
    _t("payment_method.updated", N_("A card became the default, or its details changed."),
       ("is_default",)),
    _t("payment_method.removed", N_("A card was removed.")),
    _t("customer.updated", N_("A customer's details changed; `data.previous` holds the old "
                           "values of the fields that changed."), ("*",)),
    _t("estimate.accepted", N_("The customer accepted an estimate.")),
    _t("estimate.declined", N_("The customer declined an estimate.")),
    _t("time_entry.approved", N_("The customer approved a time entry."), ("approval",)),
    _t("time_entry.disapproved", N_("The customer disapproved a time entry."), ("approval",)),
    _t("review.created", N_("A customer wrote a review."), ()),
    _t("test.ping", N_("Sent by an admin's \"Send test event\"; it carries no object."), ()),
)}

# The subscription state machine's events (core/state_machine.py) and the type each sends;
# a change of items is emitted by the change itself (with its items), so it is not here.
_TRANSITION_TYPES = {
    "start": "subscription.activated", "activate": "subscription.activated",
    "trial_converted": "subscription.activated",
    "extend_trial": "subscription.trial_extended",
    "schedule_cancel": "subscription.cancellation_scheduled",
    "remove_cancel": "subscription.cancellation_removed",
    "pause": "subscription.paused", "resume": "subscription.resumed",
    "reactivate": "subscription.reactivated",
}
_TARGET_TYPES = {"cancelled": "subscription.cancelled", "expired": "subscription.expired",
                 "unpaid": "subscription.unpaid"}


def transition_type(event: str, to: str) -> str | None:
    """The webhook type a state machine transition sends (None: it sends none)."""
    return _TARGET_TYPES.get(to) or _TRANSITION_TYPES.get(event)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def public(kind: str, source: Any, **extra: Any) -> dict[str, Any]:
    """An object's public fields (OBJECTS[kind]) from a row or a mapping of its columns,
    plus `extra` (a subscription's "items")."""
    read = source.get if isinstance(source, Mapping) else (lambda n: getattr(source, n, None))
    return {**{f.name: _jsonable(read(f.name)) for f in OBJECTS[kind]}, **_jsonable(extra)}


def changed(kind: str, before: Mapping[str, Any]) -> dict[str, Any]:
    """`data.previous` of an update: the old values of the changed public fields only."""
    names = {f.name for f in OBJECTS[kind]}
    return {name: value for name, value in before.items() if name in names}


def emit(session: Session, type: str, obj: Mapping[str, Any] | None, *, now: datetime,
         previous: Mapping[str, Any] | None = None, only_to: int | None = None) -> WebhookEvent:
    """Write one event (and its deliveries) in the caller's transaction. `obj` is
    `public(kind, row)`; `previous` the fields a change changed, as they were. `only_to`: one
    endpoint alone, whatever types it takes (an admin's test event)."""
    return emit_many(session, [(type, obj, previous)], now=now, only_to=only_to)[0]


def emit_many(session: Session,
              items: Sequence[tuple[str, Mapping[str, Any] | None, Mapping[str, Any] | None]],
              *, now: datetime, only_to: int | None = None) -> list[WebhookEvent]:
    """`emit` for many events: one INSERT for the events, one for their deliveries."""
    if not items:
        return []
    events = []
    for type_, obj, previous in items:
        if type_ not in TYPES:
            raise ValueError(f"unknown webhook event type {type_!r}")
        public_id = "evt_" + secrets.token_hex(12)
        data: dict[str, Any] = {"object": dict(obj) if obj is not None else None}
        if previous is not None:
            data["previous"] = _jsonable(dict(previous))
        events.append(WebhookEvent(public_id=public_id, type=type_, created_at=now, payload={
            "id": public_id, "type": type_, "created": _jsonable(now), "data": data}))
    if len(events) == 1:
        session.add(events[0])
        session.flush()
    else:
        ids = bulk.insert_ids(session, WebhookEvent.__table__, [
            {"public_id": e.public_id, "type": e.type, "payload": e.payload,
             "created_at": e.created_at} for e in events])
        for row, id_ in zip(events, ids, strict=True):
            row.id = id_
    pairs = [(e.id, e.type) for e in events]
    if only_to is None:
        schedule(session, pairs, now=now)
    else:
        schedule(session, [(i, ALL_TYPES) for i, _ in pairs], now=now, endpoint_ids=[only_to],
                 enabled_only=False)
    return events


def schedule(session: Session, events: Iterable[tuple[int, str]], *, now: datetime,
             endpoint_ids: Iterable[int] | None = None, enabled_only: bool = True) -> int:
    """Pending deliveries, due now, of `events` (id, type) to every enabled endpoint
    subscribed to each one's type (or to `endpoint_ids` only, and with `enabled_only` False
    to disabled ones too: a replay waits for its endpoint); returns how many. An event type
    of ALL_TYPES goes to the endpoints whatever they take."""
    if enabled_only:
        endpoints = _endpoints(session)
    else:
        endpoints = [(i, frozenset(types)) for i, types in session.exec(
            select(WebhookEndpoint.id, WebhookEndpoint.event_types))]
    if endpoint_ids is not None:
        wanted = set(endpoint_ids)
        endpoints = [(i, types) for i, types in endpoints if i in wanted]
    rows = [{"event_id": event_id, "endpoint_id": endpoint_id, "status": "pending",
             "attempts": 0, "next_attempt_at": now, "created_at": now}
            for event_id, type_ in events for endpoint_id, types in endpoints
            if type_ == ALL_TYPES or type_ in types or ALL_TYPES in types]
    if rows:
        bulk.insert(session, WebhookDelivery.__table__, rows)
        session.info[WRITTEN_KEY] = True
    return len(rows)


def take_written(session: Session) -> bool:
    """Whether this session's transaction wrote deliveries (call after commit)."""
    return bool(session.info.pop(WRITTEN_KEY, False))


def _endpoints(session: Session) -> list[tuple[int, frozenset[str]]]:
    cached = session.info.get(ENDPOINTS_KEY)
    if cached is None:
        cached = [(i, frozenset(types)) for i, types in session.exec(
            select(WebhookEndpoint.id, WebhookEndpoint.event_types)
            .where(WebhookEndpoint.enabled.is_(True)).order_by(WebhookEndpoint.id))]
        session.info[ENDPOINTS_KEY] = cached
    return cached


def forget_endpoints(session: Session) -> None:
    """After an endpoint is added, changed or removed: read them again at the next emit."""
    session.info.pop(ENDPOINTS_KEY, None)


@sa_event.listens_for(OrmSession, "after_commit")
def _forget_at_commit(session: OrmSession) -> None:
    # Another transaction may add an endpoint: each transaction reads them afresh.
    session.info.pop(ENDPOINTS_KEY, None)


@sa_event.listens_for(OrmSession, "after_rollback")
def _forget_rolled_back(session: OrmSession) -> None:
    # Deliveries written before a rollback no longer exist: nothing to send for them.
    session.info.pop(ENDPOINTS_KEY, None)
    session.info.pop(WRITTEN_KEY, None)
