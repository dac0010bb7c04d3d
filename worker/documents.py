"""RQ jobs for documents: rendering long statements (and packs) in the background.

Thin wrappers, as in worker/jobs.py: ids in, short transactions around one service call each,
exceptions escape so RQ records the failure and retries. The render runs with no transaction
open, so the progress it reports commits on its own and the polling page sees it (and, on
SQLite, no write lock is held for the length of a render).
"""

from __future__ import annotations

import logging

from webapp import links
from webapp.clock import now as clock_now
from webapp.db import session_scope
from webapp.dispatch import dispatch
from webapp.services.documents import jobs as document_jobs
from worker import runtime

log = logging.getLogger("portal.jobs.documents")


def render_document_job(job_id: int) -> None:
    """Render one queued document job and store its file; a rerun after success does nothing."""
    engine = runtime.engine()
    with session_scope(engine) as session:
        claimed = document_jobs.claim(session, job_id=job_id, now=clock_now(),
                                      lease_seconds=document_jobs.LEASE_SECONDS)
    if not claimed:
        return

    def report(progress: int) -> None:
        with session_scope(engine) as progress_session:
            document_jobs.report(progress_session, job_id=job_id, progress=progress)

    try:
        with session_scope(engine) as session:
            work = document_jobs.prepare(session, job_id=job_id, page_url=links.page_urls())
        report(20)
        document = work.render(report)
        with session_scope(engine) as session:
            document_jobs.finish(session, job_id=job_id, document=document, now=clock_now())
    except Exception as exc:
        with session_scope(engine) as session:
            document_jobs.release(session, job_id=job_id, error=repr(exc))
        raise


def sweep_document_jobs() -> int:
    """Dispatch jobs whose dispatch was lost or whose worker died; returns how many."""
    with session_scope(runtime.engine()) as session:
        ids = document_jobs.sweep(session, now=clock_now())
    for job_id in ids:
        dispatch(render_document_job, job_id)
    if ids:
        log.info("document sweep dispatched %d job(s)", len(ids))
    return len(ids)
