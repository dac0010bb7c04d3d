"""Documents prepared in a job: long statements and accountant packs, while the page polls.

`start` writes a queued DocumentJob in the caller's transaction (the caller dispatches
`worker.documents.render_document_job` after commit). The job `claim`s it with a guarded update
(queued -> running, with a lease) in its own transaction, `prepare`s the work (loads every row
it needs, then closes its session), renders it while `report`ing progress in short transactions
the polling page can see, and `finish`es with the file, or `release`s it after an error (queued
again, failed after MAX_ATTEMPTS). A worker that dies leaves the job leased; once the lease ends
`sweep` hands it out again, as it does jobs still queued after a Redis outage.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import and_, or_, update
from sqlmodel import Session, select

from webapp.models import DocumentJob, Organization
from webapp.services.core.dates import Moment
from webapp.services.core.errors import NotFound
from webapp.services.core.i18n import _
from webapp.services.core.pdf import Document, PageUrl
from webapp.services.documents import packs, statements

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
KINDS = ("statement", "pack")
MAX_ATTEMPTS = 3
LEASE_SECONDS = 600
# A job still queued this long after it was written lost its dispatch (Redis was down).
QUEUED_GRACE = timedelta(minutes=2)
# The same request within this time gets the same job (a double click makes one job), as long
# as nothing the document covers has changed: the key holds the customer's ledger version.
REUSE_WITHIN = timedelta(hours=1)
SWEEP_BATCH = 100

Report = Callable[[int], None]

_LABELS = {QUEUED: _("Waiting for a worker…"), RUNNING: _("Preparing…"), DONE: _("Ready"),
           FAILED: _("Could not be prepared")}


@dataclass(frozen=True)
class JobView:
    id: int
    kind: str
    params: Mapping[str, Any]
    status: str
    progress: int
    filename: str
    created_at: datetime

    @property
    def waiting(self) -> bool:
        return self.status in (QUEUED, RUNNING)

    @property
    def done(self) -> bool:
        return self.status == DONE

    @property
    def failed(self) -> bool:
        return self.status == FAILED

    @property
    def label(self) -> str:
        return _LABELS[self.status]

    @classmethod
    def of(cls, job: DocumentJob) -> JobView:
        return cls(job.id, job.kind, dict(job.params), job.status, job.progress, job.filename,
                   job.created_at)


def params_key(kind: str, params: Mapping[str, Any], ledger: str = "") -> str:
    """The request, and the version of the ledger it was made from (statements.ledger_version):
    a payment made after a pack was built makes the same request a new job."""
    return json.dumps({"kind": kind, **params, "ledger": ledger}, sort_keys=True,
                      separators=(",", ":"))


def _reusable(session: Session, customer_id: int, kind: str, key: str,
              now: datetime) -> DocumentJob | None:
    return session.exec(
        select(DocumentJob)
        .where(DocumentJob.customer_id == customer_id, DocumentJob.kind == kind,
               DocumentJob.params_key == key, DocumentJob.status != FAILED,
               DocumentJob.created_at >= now - REUSE_WITHIN)
        .order_by(DocumentJob.id.desc())
        .execution_options(populate_existing=True)).first()


def start(session: Session, *, customer_id: int, kind: str, params: Mapping[str, Any],
          now: datetime) -> tuple[DocumentJob, bool]:
    """A job for this document: the same request's recent job if any, else a new queued one.
    Returns (job, created): only a created job needs dispatching."""
    if kind not in KINDS:
        raise ValueError(f"unknown document job kind {kind!r}")
    key = params_key(kind, params, statements.ledger_version(session, customer_id=customer_id))
    existing = _reusable(session, customer_id, kind, key, now)
    if existing is not None:
        return existing, False
    job = DocumentJob(customer_id=customer_id, kind=kind, params=dict(params), params_key=key,
                      created_at=now)
    session.add(job)
    session.flush()
    return job, True


def latest(session: Session, *, customer_id: int, kinds: tuple[str, ...],
           params: Mapping[str, Any], now: datetime) -> tuple[JobView | None, ...]:
    """For each kind, the recent job for this same request made from the ledger as it is now,
    if one was started (the page shows its state); None where there is none."""
    ledger = statements.ledger_version(session, customer_id=customer_id)
    views = []
    for kind in kinds:
        job = session.exec(
            select(DocumentJob)
            .where(DocumentJob.customer_id == customer_id, DocumentJob.kind == kind,
                   DocumentJob.params_key == params_key(kind, params, ledger),
                   DocumentJob.created_at >= now - REUSE_WITHIN)
            .order_by(DocumentJob.id.desc())
            .execution_options(populate_existing=True)).first()
        views.append(JobView.of(job) if job else None)
    return tuple(views)


def _owned(session: Session, customer_id: int, job_id: int) -> DocumentJob:
    job = session.get(DocumentJob, job_id, populate_existing=True)
    if job is None or job.customer_id != customer_id:
        raise NotFound(_("No such document."))
    return job


def view(session: Session, *, customer_id: int, job_id: int) -> JobView:
    """The state of one of the customer's jobs (NotFound if it is not theirs)."""
    return JobView.of(_owned(session, customer_id, job_id))


def download(session: Session, *, customer_id: int, job_id: int) -> Document:
    """The finished file of one of the customer's jobs (NotFound until it is done)."""
    job = _owned(session, customer_id, job_id)
    if job.status != DONE or job.content is None:
        raise NotFound(_("This document is not ready."))
    return Document(job.filename, job.content, job.media_type)


# --- The worker's side -----------------------------------------------------------------------

def claim(session: Session, *, job_id: int, now: datetime, lease_seconds: int) -> bool:
    """Take the job (queued, or running with an expired lease); only one worker wins."""
    result = session.execute(
        update(DocumentJob)
        .where(DocumentJob.id == job_id,
               or_(DocumentJob.status == QUEUED,
                   and_(DocumentJob.status == RUNNING, DocumentJob.lease_until < now)))
        .values(status=RUNNING, progress=5, attempts=DocumentJob.attempts + 1,
                lease_until=now + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def report(session: Session, *, job_id: int, progress: int) -> None:
    """Record how far a running job has got (0-99; done is 100)."""
    session.execute(update(DocumentJob)
                    .where(DocumentJob.id == job_id, DocumentJob.status == RUNNING)
                    .values(progress=max(0, min(progress, 99)))
                    .execution_options(synchronize_session=False))


@dataclass(frozen=True)
class Work:
    """A claimed job's work, with every row it needs loaded: rendering needs no database."""

    job_id: int
    render: Callable[[Report], Document]


def prepare(session: Session, *, job_id: int, page_url: PageUrl | None = None) -> Work:
    """Load what the job renders (its kind decides how; `page_url` builds its documents'
    links, as `sources.invoice_source` says)."""
    job = session.get(DocumentJob, job_id, populate_existing=True)
    loaders = {"statement": statements.load_statement_document,
               "pack": partial(packs.load_pack, page_url=page_url)}
    if job.kind not in loaders:
        raise ValueError(f"unknown document job kind {job.kind!r}")
    loaded = loaders[job.kind](session, customer_id=job.customer_id,
                               period=statements.StatementPeriod.from_params(job.params),
                               at=_asked_at(session, job))
    return Work(job.id, loaded.render)


def _asked_at(session: Session, job: DocumentJob) -> Moment:
    """The moment the customer asked for the document: the job's instant and the date their
    page showed then (`statements.job_params`), so the file shows what the page did."""
    org = session.get(Organization, 1)  # the loader then finds it in the identity map
    return Moment(job.created_at, date.fromisoformat(job.params["today"]),
                  org.timezone if org else "UTC")


def finish(session: Session, *, job_id: int, document: Document, now: datetime) -> bool:
    """Store the file and mark the job done (only while this worker still holds it)."""
    result = session.execute(
        update(DocumentJob)
        .where(DocumentJob.id == job_id, DocumentJob.status == RUNNING)
        .values(status=DONE, progress=100, filename=document.filename,
                media_type=document.media_type, content=document.content, error=None,
                lease_until=None, finished_at=now)
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def release(session: Session, *, job_id: int, error: str) -> None:
    """After a failed render: queued for the next try, or failed after MAX_ATTEMPTS."""
    job = session.get(DocumentJob, job_id, populate_existing=True)
    if job is None or job.status != RUNNING:
        return
    job.status = FAILED if job.attempts >= MAX_ATTEMPTS else QUEUED
    job.progress, job.lease_until, job.error = 0, None, error[:2000]


def sweep(session: Session, *, now: datetime) -> list[int]:
    """Ids to dispatch again: jobs queued for a while (their dispatch was lost), and running
    jobs whose worker's lease ran out."""
    return list(session.exec(
        select(DocumentJob.id)
        .where(or_(and_(DocumentJob.status == QUEUED,
                        DocumentJob.created_at < now - QUEUED_GRACE),
                   and_(DocumentJob.status == RUNNING, DocumentJob.lease_until < now)))
        .order_by(DocumentJob.id)
        .limit(SWEEP_BATCH)))
