"""Sending webhooks: claim what is due, sign it, one HTTP attempt, record the outcome.

Each (event, endpoint) pair is a `WebhookDelivery` with a `next_attempt_at`. The schedule's
job (`worker.jobs.send_webhooks`) calls `due` and `claim` in one committed transaction (the
claim is a guarded update with a lease, so of two workers one wins each row), then for the
chunk it won `prepare_many` (one read), `post` each (no transaction open while a receiver
answers) and `record_many` (one transaction). A worker that dies after the claim leaves its
rows leased (an attempt it made is then made again: at least once);
once the lease ends `due` hands it out again, with the same event id: delivery is at least
once, and a receiver drops repeats by the `webhook-id` header.

Retries are data: `SCHEDULE` is the Standard Webhooks schedule (immediately, 5 s, 5 min,
30 min, 2 h, 5 h, 10 h, 10 h). A failed attempt sets `next_attempt_at` from the `now` passed
in, so tests step the clock instead of waiting. A 2xx is a success; a timeout (10 s), a
connection error, a redirect (never followed) and any other code are failures. An endpoint
failing for `DISABLE_AFTER` (5 days) without a success is disabled and the admins emailed.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update
from sqlmodel import Session, select
from standardwebhooks import Webhook

from webapp.models import (
    Organization,
    User,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from webapp.services.core import bulk, events, notifications, outbox
from webapp.services.core.i18n import N_
from webapp.services.webhooks import addresses, keys

PENDING, SENDING, DELIVERED, FAILED = "pending", "sending", "delivered", "failed"
STATUSES = (PENDING, SENDING, DELIVERED, FAILED)
# Seconds to wait before each attempt: the first is immediate, eight in all.
SCHEDULE: tuple[int, ...] = (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)
TIMEOUT_SECONDS = 10
RESPONSE_KEPT = 2048  # bytes of a response kept for the log
DISABLE_AFTER = timedelta(days=5)
CLAIM_CHUNK = 10  # rows a worker takes at once (and sends side by side)
# A chunk's lease outlasts its attempts even if every one times out, one after another.
LEASE_SECONDS = CLAIM_CHUNK * TIMEOUT_SECONDS + 60
USER_AGENT = "CustomerPortal-Webhooks/1.0"
DISABLED_EVENT = "webhook_endpoint_disabled"  # the admin list's notification


def _claimable(now: datetime):
    return or_(and_(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= now),
               and_(WebhookDelivery.status == SENDING, WebhookDelivery.lease_until < now))


def due(session: Session, *, now: datetime, limit: int = CLAIM_CHUNK) -> list[int]:
    """Ids of deliveries to send now (to enabled endpoints), the longest waiting first."""
    return list(session.exec(
        select(WebhookDelivery.id)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(_claimable(now), WebhookEndpoint.enabled.is_(True))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)))


def claim(session: Session, delivery_ids: Sequence[int], *, now: datetime,
          lease_seconds: int = LEASE_SECONDS) -> list[int]:
    """Take deliveries for sending with one guarded update; the ids this sender won."""
    if not delivery_ids:
        return []
    result = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(sorted(set(delivery_ids))), _claimable(now))
        .values(status=SENDING, lease_until=now + timedelta(seconds=lease_seconds),
                attempts=WebhookDelivery.attempts + 1)
        .returning(WebhookDelivery.id)
        .execution_options(synchronize_session=False))
    return sorted(result.scalars())


@dataclass(frozen=True)
class Request:
    """What one attempt sends: the endpoint's URL, the event's id and body, the secrets."""

    delivery_id: int
    endpoint_id: int
    url: str
    message_id: str  # the event's public id: the same on every attempt and endpoint
    body: bytes
    secrets: tuple[str, ...]  # the current one, and the previous one during a rotation

    def headers(self, *, sent_at: datetime) -> dict[str, str]:
        """The Standard Webhooks headers: one v1 signature per secret, space-separated."""
        signatures = " ".join(Webhook(secret).sign(self.message_id, sent_at, self.body)
                              for secret in self.secrets)
        return {"webhook-id": self.message_id,
                "webhook-timestamp": str(int(sent_at.timestamp())),
                "webhook-signature": signatures,
                "content-type": "application/json", "user-agent": USER_AGENT}


def body_of(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def prepare(session: Session, *, delivery_id: int, now: datetime, key: str) -> Request | None:
    """The request for a claimed delivery (None if it is not this sender's any more)."""
    found = prepare_many(session, delivery_ids=[delivery_id], now=now, key=key)
    return found[0] if found else None


def prepare_many(session: Session, *, delivery_ids: Sequence[int], now: datetime,
                 key: str) -> list[Request]:
    """The requests for claimed deliveries, in one statement (each endpoint's secrets
    decrypted once); those no longer this sender's are left out."""
    if not delivery_ids:
        return []
    rows = session.exec(
        select(WebhookDelivery.id, WebhookEndpoint, WebhookEvent.public_id, WebhookEvent.payload)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.id.in_(sorted(set(delivery_ids))),
               WebhookDelivery.status == SENDING)
        .order_by(WebhookDelivery.id)
        .execution_options(populate_existing=True)).all()
    secrets: dict[int, tuple[str, ...]] = {}
    requests = []
    for delivery_id, endpoint, public_id, payload in rows:
        if endpoint.id not in secrets:
            found = [keys.decrypt(endpoint.secret_encrypted, key=key)]
            if endpoint.previous_secret_encrypted and endpoint.previous_secret_until and \
                    endpoint.previous_secret_until > now:
                found.append(keys.decrypt(endpoint.previous_secret_encrypted, key=key))
            secrets[endpoint.id] = tuple(found)
        requests.append(Request(delivery_id, endpoint.id, endpoint.url, public_id,
                                body_of(payload), secrets[endpoint.id]))
    return requests


@dataclass(frozen=True)
class Result:
    status_code: int | None
    latency_ms: int
    error: str | None = None
    body: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _TLSConnection(http.client.HTTPSConnection):
    """HTTPS to an address already checked, with the URL's name for SNI and the
    certificate (http.client would use the address it connects to)."""

    def __init__(self, target: addresses.Target, address: str, timeout: float) -> None:
        super().__init__(address, target.port, timeout=timeout,
                         context=ssl.create_default_context())
        self._server_name = target.host

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self._server_name)


def post(request: Request, *, sent_at: datetime, production: bool,
         resolve: addresses.Resolver = addresses.system_resolver,
         timeout: float = TIMEOUT_SECONDS) -> Result:
    """One attempt: resolve the URL's name once, refuse a forbidden address (production),
    connect to the address that was checked, POST the signed body; redirects are not
    followed. Never raises for the receiver's sake: every failure is a Result."""
    started = time.monotonic()

    def elapsed() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        target = addresses.check(request.url, production=production, resolve=resolve)
    except addresses.RefusedAddress as exc:
        return Result(None, elapsed(), f"Refused: {exc}")
    except Exception as exc:  # noqa: BLE001 - a URL that no longer parses, say
        return Result(None, elapsed(), f"Refused: {exc}")
    conn = None
    try:
        conn = _connect(target, timeout)
        conn.request("POST", target.path, body=request.body,
                     headers={**request.headers(sent_at=sent_at), "Host": target.host_header})
        response = conn.getresponse()
        kept = response.read(RESPONSE_KEPT).decode("utf-8", errors="replace")
        code = response.status
        error = None
        if 300 <= code < 400:
            error = f"Redirect to {response.getheader('location', '?')} (not followed)"
        elif not 200 <= code < 300:
            error = f"HTTP {code}"
        return Result(code, elapsed(), error, kept)
    except TimeoutError:
        return Result(None, elapsed(), f"Timed out after {timeout:g} s")
    except (OSError, http.client.HTTPException) as exc:
        return Result(None, elapsed(), f"Connection failed: {exc!r}"[:500])
    finally:
        if conn is not None:
            conn.close()


def _connect(target: addresses.Target, timeout: float) -> http.client.HTTPConnection:
    """A connection to the first of the checked addresses that accepts one."""
    for index, address in enumerate(target.addresses):
        if target.scheme == "https":
            conn: http.client.HTTPConnection = _TLSConnection(target, address, timeout)
        else:
            conn = http.client.HTTPConnection(address, target.port, timeout=timeout)
        try:
            conn.connect()
        except TimeoutError:
            raise  # one timeout is enough to wait
        except OSError:  # refused, or an address family this host lacks
            conn.close()
            if index == len(target.addresses) - 1:
                raise
            continue
        return conn
    raise ConnectionRefusedError("no address to connect to")


@dataclass(frozen=True)
class Recorded:
    delivered: bool
    next_attempt_at: datetime | None  # None: delivered, or given up
    endpoint_disabled: bool = False


def record(session: Session, *, delivery_id: int, result: Result, now: datetime) -> Recorded:
    """Log the attempt and move the delivery on: delivered, pending for the schedule's next
    step, or failed once the schedule is used up. The endpoint's failing spell starts at its
    first failure and ends at a success; five days of it disables the endpoint."""
    return record_many(session, outcomes=[(delivery_id, result)], now=now)[0]


def record_many(session: Session, *, outcomes: Sequence[tuple[int, Result]],
                now: datetime) -> list[Recorded]:
    """`record` for a chunk's attempts, in the caller's one transaction."""
    ids = sorted({delivery_id for delivery_id, _ in outcomes})
    deliveries = {d.id: d for d in session.exec(
        select(WebhookDelivery).where(WebhookDelivery.id.in_(ids))
        .execution_options(populate_existing=True))}
    endpoints = {e.id: e for e in session.exec(
        select(WebhookEndpoint).where(WebhookEndpoint.id.in_(
            sorted({d.endpoint_id for d in deliveries.values()})))
        .execution_options(populate_existing=True))}
    rows, attempts, recorded = [], [], []
    for delivery_id, result in outcomes:
        delivery = deliveries[delivery_id]
        row = _outcome(session, delivery, endpoints[delivery.endpoint_id], result, now)
        rows.append(row)
        attempts.append({"delivery_id": delivery_id, "attempted_at": now,
                         "status_code": result.status_code, "latency_ms": result.latency_ms,
                         "error": row["error"], "response_body": result.body[:RESPONSE_KEPT]})
        recorded.append(Recorded(result.ok, row["next"], row.pop("disabled")))
    bulk.insert(session, WebhookAttempt.__table__, attempts)
    table = WebhookDelivery.__table__
    bulk.update(session, table, rows,
                types={"id": table.c.id, "status": table.c.status, "code": table.c.last_status_code,
                       "error": table.c.last_error, "next": table.c.next_attempt_at,
                       "delivered": table.c.delivered_at},
                where=lambda v: [table.c.id == v.id, table.c.status == SENDING],
                values=lambda v: {"status": v.status, "last_status_code": v.code,
                                  "last_error": v.error, "next_attempt_at": v.next,
                                  "delivered_at": v.delivered, "lease_until": None})
    session.flush()
    return recorded


def _outcome(session: Session, delivery: WebhookDelivery, endpoint: WebhookEndpoint,
             result: Result, now: datetime) -> dict:
    """A delivery's new values after an attempt; the endpoint's failing spell moves on."""
    error = (result.error or None) and result.error[:500]
    row = {"id": delivery.id, "code": result.status_code, "error": error, "delivered": None,
           "next": None, "disabled": False}
    if result.ok:
        row |= {"status": DELIVERED, "delivered": now}
        if endpoint.failing_since is not None:  # the endpoint row is written only on a change
            endpoint.failing_since, endpoint.updated_at = None, now
        return row
    if delivery.attempts < len(SCHEDULE):
        row |= {"status": PENDING,
                "next": now + timedelta(seconds=SCHEDULE[delivery.attempts])}
    else:
        row |= {"status": FAILED}
    if endpoint.failing_since is None:
        endpoint.failing_since, endpoint.updated_at = now, now
    if endpoint.enabled and now - endpoint.failing_since >= DISABLE_AFTER:
        disable(session, endpoint, now=now)
        endpoint.updated_at = now
        row["disabled"] = True
    return row


def disable(session: Session, endpoint: WebhookEndpoint, *, now: datetime) -> None:
    """Stop sending to an endpoint that keeps failing; tell the admins (list and email).
    Its pending deliveries wait: enabling it again sends them."""
    endpoint.enabled = False
    endpoint.disabled_reason = (f"Disabled automatically: every attempt failed for "
                                f"{DISABLE_AFTER.days} days.")
    events.forget_endpoints(session)
    title = N_("Webhook endpoint disabled: %(url)s")
    body = N_("Every delivery to %(url)s has failed since %(since)s UTC, so the portal stopped "
              "sending to it. Fix the receiver, then enable the endpoint again under Webhooks; "
              "the events held meanwhile are sent then.")
    params = {"url": endpoint.url, "since": f"{endpoint.failing_since:%Y-%m-%d %H:%M}"}
    notifications.notify_org(session, event=DISABLED_EVENT, title=title, body=body, now=now,
                             params=params)
    title, body = notifications.in_org_language(session.get(Organization, 1), title, body,
                                                params)
    admins = session.exec(select(User.email).where(User.role == "admin", User.is_active)
                          .order_by(User.id)).all()
    for email in admins:
        outbox.enqueue(session, template="webhook_endpoint_disabled", to=email, subject=title,
                       context={"title": title, "body": body,
                                "page": outbox.page("admin_webhooks.detail",
                                                    endpoint_id=endpoint.id)}, now=now)
