"""Back office: webhook endpoints (add, edit, disable, delete), their signing secrets (shown
once, rotated with an overlap), "Send test event", and the delivery log with Resend and
Replay since. Every change is audited; no secret is ever written to the audit trail or logs.

Sending is not done here: a test event, a resend or a replay only writes deliveries due now,
which the schedule sends (services/webhooks/sending.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from webapp.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from webapp.services.admin import Actor
from webapp.services.core import audit, events
from webapp.services.core.errors import InvalidInput, NotFound
from webapp.services.core.i18n import _, ngettext
from webapp.services.core.listing import FilterReader
from webapp.services.core.preferences import InvalidChanges
from webapp.services.webhooks import addresses, keys, sending

ROTATION_OVERLAP = timedelta(hours=24)  # the old secret still signs this long after a rotation
LOG_PAGE = 50
MAX_DESCRIPTION = 500
TEST_TYPE = "test.ping"


def type_choices() -> tuple[tuple[str, str], ...]:
    """The event types an endpoint may subscribe to, as (name, description)."""
    return tuple((t.name, t.description) for t in events.TYPES.values() if t.name != TEST_TYPE)


@dataclass(frozen=True)
class EndpointInput:
    url: str
    description: str = ""
    event_types: tuple[str, ...] = ()
    all_types: bool = False


@dataclass(frozen=True)
class Policy:
    """What URLs may be saved: production refuses http and internal addresses."""

    production: bool
    resolve: addresses.Resolver = addresses.system_resolver


def check(data: EndpointInput, policy: Policy) -> tuple[str, str, list[str]]:
    """(url, description, types) cleaned; InvalidChanges names every wrong field."""
    errors: dict[str, str] = {}
    url = (data.url or "").strip()
    try:
        addresses.parse(url, production=policy.production)
        if policy.production:
            addresses.check(url, production=True, resolve=policy.resolve)
    except InvalidInput as exc:
        errors["url"] = exc.message
    except addresses.RefusedAddress as exc:
        errors["url"] = str(exc)
    description = " ".join((data.description or "").split())
    if len(description) > MAX_DESCRIPTION:
        errors["description"] = ngettext("Keep the description under %(num)d character.",
                                         "Keep the description under %(num)d characters.",
                                         MAX_DESCRIPTION)
    known = {name for name, _ in type_choices()}
    chosen = sorted(set(data.event_types))
    if data.all_types:
        chosen = [events.ALL_TYPES]
    elif not chosen:
        errors["event_types"] = _("Choose at least one event type, or all of them.")
    elif not set(chosen) <= known:
        errors["event_types"] = _("Choose event types from the list.")
    if errors:
        raise InvalidChanges(errors)
    return url, description, chosen


def _audit(session: Session, actor: Actor, action: str, endpoint: WebhookEndpoint,
           before: Mapping, after: Mapping, now: datetime) -> None:
    audit.record(session, actor_user_id=actor.user_id, actor_label=actor.label, action=action,
                 subject_type="webhook_endpoint", subject_id=endpoint.id, before=before,
                 after=after, now=now)


def _facts(endpoint: WebhookEndpoint) -> dict:
    return {"url": endpoint.url, "description": endpoint.description,
            "event_types": list(endpoint.event_types), "enabled": endpoint.enabled}


@dataclass(frozen=True)
class Created:
    endpoint: WebhookEndpoint
    secret: str  # shown once, on the page that answers the creation; never again


def create(session: Session, *, actor: Actor, data: EndpointInput, policy: Policy, key: str,
           now: datetime) -> Created:
    url, description, types = check(data, policy)
    secret = keys.new_secret()
    endpoint = WebhookEndpoint(url=url, description=description, event_types=types,
                               secret_encrypted=keys.encrypt(secret, key=key), created_at=now,
                               updated_at=now)
    session.add(endpoint)
    session.flush()
    events.forget_endpoints(session)
    _audit(session, actor, "webhook_endpoint.create", endpoint, {}, _facts(endpoint), now)
    return Created(endpoint, secret)


def get(session: Session, endpoint_id: int) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(_("No such webhook endpoint."))
    return endpoint


def update(session: Session, *, actor: Actor, endpoint_id: int, data: EndpointInput,
           policy: Policy, now: datetime) -> tuple[str, ...]:
    """Save the changed fields; returns their names (none: nothing changed)."""
    endpoint = get(session, endpoint_id)
    url, description, types = check(data, policy)
    before, after = audit.diff(_facts(endpoint), {"url": url, "description": description,
                                                  "event_types": types,
                                                  "enabled": endpoint.enabled})
    if after:
        endpoint.url, endpoint.description, endpoint.event_types = url, description, types
        endpoint.updated_at = now
        events.forget_endpoints(session)
        _audit(session, actor, "webhook_endpoint.update", endpoint, before, after, now)
    return tuple(after)


def set_enabled(session: Session, *, actor: Actor, endpoint_id: int, enabled: bool,
                now: datetime) -> WebhookEndpoint:
    """Disable an endpoint (nothing is sent; new events are not queued for it), or enable it
    again: what was held is sent, and its failing spell starts afresh."""
    endpoint = get(session, endpoint_id)
    if endpoint.enabled == enabled:
        return endpoint
    endpoint.enabled, endpoint.updated_at = enabled, now
    endpoint.disabled_reason = "" if enabled else "Disabled by an admin."
    if enabled:
        endpoint.failing_since = None
    events.forget_endpoints(session)
    _audit(session, actor, "webhook_endpoint.enable" if enabled else "webhook_endpoint.disable",
           endpoint, {"enabled": not enabled}, {"enabled": enabled}, now)
    return endpoint


def remove(session: Session, *, actor: Actor, endpoint_id: int, now: datetime) -> str:
    """Delete an endpoint with its deliveries and their log; returns its URL."""
    endpoint = get(session, endpoint_id)
    ids = select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint_id)
    session.execute(delete(WebhookAttempt).where(col(WebhookAttempt.delivery_id).in_(ids)))
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id))
    _audit(session, actor, "webhook_endpoint.delete", endpoint, _facts(endpoint), {}, now)
    url = endpoint.url
    session.delete(endpoint)
    session.flush()
    events.forget_endpoints(session)
    return url


def rotate_secret(session: Session, *, actor: Actor, endpoint_id: int, key: str,
                  now: datetime, overlap: timedelta = ROTATION_OVERLAP) -> Created:
    """A new signing secret, shown once; requests are signed with both the new and the old
    one until `overlap` has passed, so receivers can switch without losing an event."""
    endpoint = get(session, endpoint_id)
    secret = keys.new_secret()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_secret_until = now + overlap
    endpoint.secret_encrypted = keys.encrypt(secret, key=key)
    endpoint.updated_at = now
    _audit(session, actor, "webhook_endpoint.rotate_secret", endpoint, {},
           {"previous_secret_until": endpoint.previous_secret_until}, now)
    return Created(endpoint, secret)


def send_test(session: Session, *, actor: Actor, endpoint_id: int,
              now: datetime) -> WebhookEvent:
    """A test.ping event for this endpoint alone, due now (the schedule sends it)."""
    endpoint = get(session, endpoint_id)
    if not endpoint.enabled:
        raise InvalidInput(_("Enable the endpoint first: nothing is sent to a disabled one."))
    event = events.emit(session, TEST_TYPE, None, now=now, only_to=endpoint.id)
    _audit(session, actor, "webhook_endpoint.test", endpoint, {}, {"event": event.public_id},
           now)
    return event


# --- The list and the delivery log -------------------------------------------------------------

@dataclass(frozen=True)
class EndpointRow:
    endpoint: WebhookEndpoint
    pending: int
    failed: int
    local: bool  # http or loopback: allowed in development only, and warned about

    @property
    def types_label(self) -> str:
        types = self.endpoint.event_types
        return _("All events") if events.ALL_TYPES in types else ", ".join(types)


def endpoint_rows(session: Session) -> tuple[EndpointRow, ...]:
    counts = dict(((endpoint_id, status), n) for endpoint_id, status, n in session.exec(
        select(WebhookDelivery.endpoint_id, WebhookDelivery.status, func.count())
        .where(col(WebhookDelivery.status).in_((sending.PENDING, sending.FAILED)))
        .group_by(WebhookDelivery.endpoint_id, WebhookDelivery.status)))
    return tuple(EndpointRow(e, counts.get((e.id, sending.PENDING), 0),
                             counts.get((e.id, sending.FAILED), 0), addresses.is_local(e.url))
                 for e in session.exec(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def endpoint_row(session: Session, endpoint_id: int) -> EndpointRow:
    get(session, endpoint_id)
    return next(r for r in endpoint_rows(session) if r.endpoint.id == endpoint_id)


@dataclass(frozen=True)
class LogFilters:
    status: str | None = None
    type: str | None = None
    page: int = 1

    def query_args(self, **overrides) -> dict:
        args = {"status": self.status, "type": self.type, "page": self.page} | overrides
        return {k: v for k, v in args.items() if v not in (None, "", 1)}


def read_log_filters(params: Mapping[str, str]) -> tuple[LogFilters, list[str]]:
    reader = FilterReader(params)
    status = reader.choice("status", sending.STATUSES, "status")
    type_ = reader.choice("type", tuple(events.TYPES), "event type")
    page = reader.integer("page", "page") or 1
    return LogFilters(status, type_, max(page, 1)), reader.messages


@dataclass(frozen=True)
class LogEntry:
    delivery: WebhookDelivery
    event: WebhookEvent
    attempts: tuple[WebhookAttempt, ...]


@dataclass(frozen=True)
class Log:
    entries: tuple[LogEntry, ...]
    page: int
    more: bool


def delivery_log(session: Session, *, endpoint_id: int, filters: LogFilters) -> Log:
    """The endpoint's deliveries, newest first, each with its attempts (time, status code,
    latency, error, the response's first 2 KB)."""
    get(session, endpoint_id)
    query = (select(WebhookDelivery, WebhookEvent)
             .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
             .where(WebhookDelivery.endpoint_id == endpoint_id))
    if filters.status:
        query = query.where(WebhookDelivery.status == filters.status)
    if filters.type:
        query = query.where(WebhookEvent.type == filters.type)
    rows = session.exec(query.order_by(col(WebhookDelivery.id).desc())
                        .offset((filters.page - 1) * LOG_PAGE).limit(LOG_PAGE + 1)).all()
    shown = rows[:LOG_PAGE]
    attempts: dict[int, list[WebhookAttempt]] = {}
    if shown:
        for attempt in session.exec(select(WebhookAttempt).where(
                col(WebhookAttempt.delivery_id).in_([d.id for d, _ in shown]))
                .order_by(col(WebhookAttempt.id).desc())):
            attempts.setdefault(attempt.delivery_id, []).append(attempt)
    return Log(tuple(LogEntry(d, e, tuple(attempts.get(d.id, ()))) for d, e in shown),
               filters.page, len(rows) > LOG_PAGE)


def resend(session: Session, *, actor: Actor, endpoint_id: int, delivery_id: int,
           now: datetime) -> WebhookDelivery:
    """Send one event to the endpoint again (a new delivery, the same event id)."""
    endpoint = get(session, endpoint_id)
    old = session.get(WebhookDelivery, delivery_id)
    if old is None or old.endpoint_id != endpoint_id:
        raise NotFound(_("No such delivery."))
    new = WebhookDelivery(event_id=old.event_id, endpoint_id=endpoint_id,
                          status=sending.PENDING, next_attempt_at=now, created_at=now)
    session.add(new)
    session.flush()
    _audit(session, actor, "webhook_endpoint.resend", endpoint, {},
           {"delivery": old.id, "event_id": old.event_id}, now)
    return new


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def replay(session: Session, *, actor: Actor, endpoint_id: int, since: date | None,
           until: date | None, now: datetime) -> int:
    """After an outage: every event from `since` (inclusive) to `until` (inclusive; today by
    default) of the types the endpoint takes, sent to it again; returns how many."""
    endpoint = get(session, endpoint_id)
    errors = {}
    if since is None:
        errors["since"] = _("Enter the first day to replay (YYYY-MM-DD).")
    elif until is not None and until < since:
        errors["until"] = _("The last day comes on or after the first.")
    elif since > now.date():
        errors["since"] = _("That day has not come yet.")
    if errors:
        raise InvalidChanges(errors)
    end = _midnight(until) + timedelta(days=1) if until else now + timedelta(seconds=1)
    query = select(WebhookEvent.id, WebhookEvent.type).where(
        WebhookEvent.created_at >= _midnight(since), WebhookEvent.created_at < end,
        WebhookEvent.type != TEST_TYPE)
    if events.ALL_TYPES not in endpoint.event_types:
        query = query.where(col(WebhookEvent.type).in_(list(endpoint.event_types)))
    found: Sequence[tuple[int, str]] = session.exec(query.order_by(WebhookEvent.id)).all()
    count = events.schedule(session, found, now=now, endpoint_ids=[endpoint_id],
                            enabled_only=False)
    _audit(session, actor, "webhook_endpoint.replay", endpoint, {},
           {"since": since, "until": until, "events": count}, now)
    return count
