"""The one way to run background work: `dispatch(job, *ids)`, and `commit_and_dispatch()`.

A job is named by its import path ("worker.jobs.charge_payment", the constants below): the
worker imports webapp, so webapp never imports the worker; RQ takes the path as it is, and
an in-process run imports it when it runs.

With REDIS_URL the job is enqueued on RQ with a backing-off Retry; if Redis is unreachable the
request still succeeds (the change is committed and the outbox sweep sends the mail later).
Without REDIS_URL (the embedded default) the job runs here, in-process, after the commit; RQ's
synchronous mode would still need Redis, so it is no substitute.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Sequence
from functools import cache

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry
from sqlmodel import Session

from webapp import runtime
from webapp.services.accounts import notices
from webapp.services.core import events, outbox

log = logging.getLogger("portal.dispatch")

QUEUE_NAME = "default"
# Mail has its own queue, which workers take after "default" (`rq worker default mail`): a
# burst of receipts after a big renewal run must not hold up the charges behind it.
MAIL_QUEUE = "mail"
RETRY_INTERVALS = [15, 120, 900]  # seconds; needs `rq worker --with-scheduler`
RETRY_MAX = 5
OUTBOX_BATCH = 100  # outbox rows per send job
# session.info key: (job, ids) pairs to dispatch once the session's transaction commits.
DEFERRED_JOBS = "deferred_jobs"

Job = Callable[..., object] | str  # a job function, or its import path

# The worker's jobs webapp dispatches (tests/web/app/test_dispatch.py checks each resolves).
SEND_OUTBOX_MESSAGE = "worker.jobs.send_outbox_message"
SEND_OUTBOX_MESSAGES = "worker.jobs.send_outbox_messages"
PROCESS_ACCOUNT_NOTICE = "worker.jobs.process_account_notice"
CHARGE_PAYMENT = "worker.jobs.charge_payment"
SEND_WEBHOOKS = "worker.jobs.send_webhooks"
RENDER_DOCUMENT = "worker.documents.render_document_job"


def dispatch(job: Job, *ids: int, queue: str = QUEUE_NAME) -> None:
    """Run `job(*ids)` in the background (RQ) or, without REDIS_URL, right now in-process."""
    if runs_in_background():
        _enqueue(runtime.settings()["REDIS_URL"], job, ids, queue)
    else:
        _run_in_process(job, ids)


def runs_in_background() -> bool:
    """Whether `dispatch` queues jobs for workers (RQ) rather than running them right here."""
    return bool(runtime.settings().get("REDIS_URL"))


def defer(session: Session, job: Job, *ids: int) -> None:
    """Dispatch `job(*ids)` after this session commits (through `commit_and_dispatch`)."""
    session.info.setdefault(DEFERRED_JOBS, []).append((job, ids))


def commit_and_dispatch(session: Session | None = None) -> None:
    """Commit the session (the request's by default), then dispatch what it wrote: its outbox
    rows (`dispatch_outbox`), then the deferred jobs, then (on RQ only) the sending of the
    webhook deliveries it wrote. Nothing is dispatched if the commit fails."""
    if session is None:
        from webapp.db import db

        session = db.session
    session.commit()
    deferred = session.info.pop(DEFERRED_JOBS, [])
    dispatch_outbox(outbox.take_written_ids(session))
    for job, ids in deferred:
        dispatch(job, *ids)
    for notice_id in notices.take_written_ids(session):
        dispatch_in_background(PROCESS_ACCOUNT_NOTICE, notice_id)
    if events.take_written(session):
        # Never in-process: a receiver may take 10 s, and the customer's request must not
        # wait for it. On the embedded default the in-process schedule sends within seconds.
        dispatch_in_background(SEND_WEBHOOKS)


def dispatch_in_background(job: Job, *ids: int) -> None:
    """Queue `job(*ids)` for RQ; without REDIS_URL leave it to the in-process schedule's sweep.
    For work that must never run inside the request (an account notice: a request for an
    unknown address must cost what one for a known address costs)."""
    if runs_in_background():
        _enqueue(runtime.settings()["REDIS_URL"], job, ids, QUEUE_NAME)


def dispatch_outbox(message_ids: Sequence[int]) -> None:
    """Dispatch the sending of outbox rows: one row alone as `send_outbox_message`, several in
    jobs of up to OUTBOX_BATCH rows (`send_outbox_messages`, one SMTP connection each)."""
    if len(message_ids) == 1:
        dispatch(SEND_OUTBOX_MESSAGE, message_ids[0], queue=MAIL_QUEUE)
        return
    for start in range(0, len(message_ids), OUTBOX_BATCH):
        dispatch(SEND_OUTBOX_MESSAGES, *message_ids[start:start + OUTBOX_BATCH], queue=MAIL_QUEUE)


def resolve(job: Job) -> Callable[..., object]:
    """The job function itself ("package.module.function" is imported)."""
    if not isinstance(job, str):
        return job
    module, _, name = job.rpartition(".")
    return getattr(importlib.import_module(module), name)


def job_name(job: Job) -> str:
    return job if isinstance(job, str) else f"{job.__module__}.{job.__qualname__}"


@cache
def _redis(url: str) -> Redis:
    # Short timeouts: a dead Redis must not hold a request for long.
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)


def _enqueue(redis_url: str, job: Job, ids: tuple[int, ...], queue: str) -> None:
    try:
        Queue(queue, connection=_redis(redis_url)).enqueue(
            job, *ids, retry=Retry(max=RETRY_MAX, interval=RETRY_INTERVALS))
    except RedisError:
        # The change is committed; the outbox sweep re-dispatches once Redis is back.
        log.warning("Redis unreachable; %s%s left for the sweep", job_name(job), ids,
                    exc_info=True)


def _run_in_process(job: Job, ids: tuple[int, ...]) -> None:
    try:
        resolve(job)(*ids)
    except Exception:  # noqa: BLE001
        # Same contract as an unreachable Redis: the request's change is committed and must
        # not fail now; the job left its row pending with the error, and the sweep retries.
        log.exception("in-process job %s%s failed; the sweep will retry", job_name(job), ids)
