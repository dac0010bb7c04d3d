"""RQ jobs: thin wrappers that take ids, open a session, call one service and commit.

Exceptions escape so RQ records the failure and retries. Inside a Flask app context (in-process
on the embedded default) the app's engine and settings are used; see worker/runtime.py.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

from webapp import links
from webapp.clock import now as clock_now
from webapp.clock import utcnow
from webapp.db import session_scope
from webapp.dispatch import defer, dispatch_outbox, runs_in_background
from webapp.limits_storage import DatabaseStorage
from webapp.services.accounts import notices as account_notices
from webapp.services.accounts import sessions
from webapp.services.accounts import throttle as login_throttle
from webapp.services.billing import charges
from webapp.services.core import outbox, preferences
from webapp.services.core.mail import mailer_from_settings
from webapp.services.subscriptions import lifecycle
from webapp.services.webhooks import keys as webhook_keys
from webapp.services.webhooks import sending as webhook_sending
from webapp.units import unit_of_work
from worker import runtime

log = logging.getLogger("portal.jobs")


def attach_document(session, **where):
    """The document an outbox row attaches. Imported here: the PDF stack (xhtml2pdf,
    reportlab) is loaded only by a sender that attaches one, not by every worker."""
    from webapp.services.documents import sources

    return sources.attachment(session, page_url=links.page_urls(), **where)


def send_outbox_message(message_id: int) -> None:
    """Send one outbox row; running it again after success sends nothing."""
    settings = runtime.settings()
    # The claim commits on its own: a sender that dies after it leaves the row leased, and
    # the sweep hands it out again once the lease ends.
    with session_scope(runtime.engine()) as session:
        claimed = outbox.claim(session, message_id=message_id, now=clock_now(),
                               lease_seconds=settings["OUTBOX_LEASE_SECONDS"])
    if not claimed:
        return
    try:
        with session_scope(runtime.engine()) as session:
            outbox.send(session, message_id=message_id, now=clock_now(),
                        smtp=mailer_from_settings(settings), base_url=settings["BASE_URL"],
                        attach=attach_document, paths=links.paths())
    except Exception as exc:
        with session_scope(runtime.engine()) as session:
            outbox.release(session, message_id=message_id, error=repr(exc))
        raise


def sweep_outbox() -> int:
    """Dispatch pending outbox rows and rows whose lease expired; returns how many."""
    with session_scope(runtime.engine()) as session:
        ids = outbox.sweep(session, now=clock_now())
    dispatch_outbox(ids)
    if ids:
        log.info("outbox sweep dispatched %d message(s)", len(ids))
    return len(ids)


class OutboxSendFailed(RuntimeError):
    """Some rows of a batch could not be sent; they were released for the next try."""


def send_outbox_messages(*message_ids: int) -> int:
    """Send several outbox rows over one SMTP connection; returns how many were sent.

    Like `send_outbox_message`: the claim commits on its own first, so a worker that dies
    mid-batch leaves the rest leased for the sweep; rows already sent are skipped. A row whose
    send fails is released alone and the job raises at the end (RQ retries the job, which
    then claims only the rows still pending).
    """
    settings = runtime.settings()
    lease_seconds = settings["OUTBOX_LEASE_SECONDS"]
    with session_scope(runtime.engine()) as session:
        claimed = outbox.claim_many(session, message_ids=message_ids, now=clock_now(),
                                    lease_seconds=lease_seconds)
    if not claimed:
        return 0
    try:
        with session_scope(runtime.engine()) as session:
            result = outbox.send_many(session, message_ids=claimed, now=clock_now(),
                                      smtp=mailer_from_settings(settings),
                                      base_url=settings["BASE_URL"],
                                      budget_seconds=lease_seconds / 2,
                                      attach=attach_document, paths=links.paths())
    except Exception as exc:
        with session_scope(runtime.engine()) as session:
            for message_id in claimed:
                outbox.release(session, message_id=message_id, error=repr(exc))
        raise
    if result.returned:
        log.warning("outbox batch out of time: %d message(s) left for the sweep",
                    len(result.returned))
    if result.failed:
        raise OutboxSendFailed(f"{len(result.failed)} of {len(claimed)} message(s) not sent "
                               f"(released): {list(result.failed)}")
    return len(result.sent)


def charge_payment(payment_id: int) -> None:
    """Charge one pending payment through the gateway; a rerun charges nothing more."""
    charges.run(unit_of_work, runtime.gateway(), payment_id=payment_id, now=clock_now())


def charge_payments(*payment_ids: int) -> int:
    """Charge a chunk of the engine's pending payments: one claim, one recording transaction."""
    return charges.run_many(unit_of_work, runtime.gateway(), payment_ids=list(payment_ids),
                            now=clock_now())


def resolve_payments() -> int:
    """Settle payments customers started that were left pending (the gateway did not answer,
    a request died) by asking the gateway about each attempt, never charging again; returns
    how many got an outcome. One still unanswered stays pending for the next run."""
    with session_scope(runtime.engine()) as session:
        payment_ids = charges.to_resolve(session, now=clock_now())
    settled = 0
    for payment_id in payment_ids:
        outcome = charges.resolve(unit_of_work, runtime.gateway(), payment_id=payment_id,
                                  now=clock_now())
        settled += outcome is not None and outcome.newly_settled
    if settled:
        log.info("payment sweep settled %d payment(s)", settled)
    return settled


CHARGE_CHUNK = 250  # payments per charge job
# A run stops after this many batches even if events keep coming (the next minute's run goes
# on): a bound, so that no event that is processed without moving on can keep a run alive.
MAX_BATCHES_PER_RUN = 1000
# Helper jobs a run with more than one batch due queues on RQ (one per extra worker to use).
TICK_HELPERS = 1


def lifecycle_tick() -> int:
    """Process every subscription event due now, batch by batch, each batch committed.

    When more than one batch is due and jobs run on RQ, one helper job (`lifecycle_tick_help`)
    is queued ahead of the first batch's charges, so a second worker bills beside this one:
    the batches are taken FOR UPDATE SKIP LOCKED, so the two never take the same events."""
    return _tick_batches(helpers=TICK_HELPERS)


def lifecycle_tick_help() -> int:
    """The same batches as `lifecycle_tick`, run beside it by another worker; queues no help."""
    return _tick_batches(helpers=0)


def _tick_batches(*, helpers: int) -> int:
    processed = 0
    for _ in range(MAX_BATCHES_PER_RUN):
        with unit_of_work() as session:
            result = lifecycle.tick(session, now=clock_now())
            if result.more and helpers and runs_in_background():
                for _ in range(helpers):
                    defer(session, lifecycle_tick_help)
                helpers = 0
            ids = result.payment_ids
            for start in range(0, len(ids), CHARGE_CHUNK):
                defer(session, charge_payments, *ids[start:start + CHARGE_CHUNK])
        processed += result.processed
        if not result.more and not result.processed:
            break  # nothing left: a batch that did something may have left a next term due
    if processed:
        log.info("lifecycle tick processed %d event(s)", processed)
    return processed


def purge_sessions() -> int:
    """Housekeeping of the sign-in tables: session rows that ended or expired more than 90
    days ago, throttles that no longer hold, notices handled a week ago, ended rate-limit
    windows."""
    with session_scope(runtime.engine()) as session:
        limits = sessions.Limits.of(preferences.load(session))
        purged = sessions.purge(session, limits=limits, now=clock_now())
        purged += login_throttle.purge(session, now=clock_now())
        purged += account_notices.purge(session, now=clock_now())
    purged += DatabaseStorage(engine=runtime.engine()).purge()
    if purged:
        log.info("purged %d old session, throttle, notice and rate-limit row(s)", purged)
    return purged


def process_account_notice(notice_id: int) -> None:
    """Mail an account notice's address if it is an active login's (once, however often run)."""
    settings = runtime.settings()
    with session_scope(runtime.engine()) as session:
        account_notices.process(session, notice_id=notice_id, now=clock_now(),
                                secret=settings["SECRET_KEY"])
        ids = outbox.take_written_ids(session)
    dispatch_outbox(ids)


def sweep_account_notices() -> int:
    """Run every account notice not yet taken (on the embedded default this is how they run;
    with RQ it picks up those whose job was lost); returns how many."""
    with session_scope(runtime.engine()) as session:
        ids = account_notices.pending(session, now=clock_now())
    for notice_id in ids:
        process_account_notice(notice_id)
    return len(ids)


WEBHOOK_RUN_SECONDS = 50  # a run stops taking new deliveries after this (the next run goes on)


def send_webhooks() -> int:
    """Send the webhook deliveries due now, a chunk at a time: each chunk claimed in its own
    committed transaction, its requests read in one, each attempt made with no transaction
    open, the chunk's outcomes recorded in one. Returns how many attempts were made. Run by
    the schedule (every few seconds) and, with RQ, dispatched after a commit that wrote
    deliveries; never inside a request."""
    settings = runtime.settings()
    key = webhook_keys.encryption_key(settings)
    production = settings.get("PORTAL_ENV") == "production"
    started = time.monotonic()
    attempts = 0
    while time.monotonic() - started < WEBHOOK_RUN_SECONDS:
        with session_scope(runtime.engine()) as session:
            now = clock_now()
            claimed = webhook_sending.claim(
                session, webhook_sending.due(session, now=now), now=now)
        if not claimed:
            break
        attempts += send_webhook_chunk(claimed, key=key, production=production)
    if attempts:
        log.info("webhooks: %d attempt(s)", attempts)
    return attempts


def send_webhook_chunk(delivery_ids: list[int], *, key: str, production: bool) -> int:
    """One attempt for each claimed delivery: read them, POST each, record the outcomes."""
    with session_scope(runtime.engine()) as session:
        requests = webhook_sending.prepare_many(session, delivery_ids=delivery_ids,
                                                now=clock_now(), key=key)
    # The chunk's requests go out side by side: a receiver that times out holds the chunk
    # for one timeout, not one per delivery.
    with ThreadPoolExecutor(max_workers=max(1, len(requests))) as pool:
        results = list(pool.map(lambda request: webhook_sending.post(
            request, sent_at=utcnow(), production=production), requests))
    outcomes = [(request.delivery_id, result) for request, result in zip(requests, results,
                                                                          strict=True)]
    with session_scope(runtime.engine()) as session:
        webhook_sending.record_many(session, outcomes=outcomes, now=clock_now())
        ids = outbox.take_written_ids(session)
    dispatch_outbox(ids)  # an endpoint disabled after 5 days of failures: the admins' mail
    return len(outcomes)


def heartbeat() -> str:
    """Proves the schedule runs: logs and returns the time it ran."""
    stamp = utcnow().isoformat(timespec="seconds")
    log.info("portal heartbeat %s", stamp)
    return stamp
