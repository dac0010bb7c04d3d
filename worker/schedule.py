"""The one schedule: (job, interval in seconds). `rq cron worker/cron.py` registers it with RQ;
`flask --app webapp cron` runs the same list in-process on the embedded default."""

from __future__ import annotations

from collections.abc import Callable

from worker import documents, jobs

SCHEDULE: tuple[tuple[Callable[[], object], int], ...] = (
    (jobs.sweep_outbox, 60),
    (jobs.send_webhooks, 5),
    (documents.sweep_document_jobs, 60),
    (jobs.lifecycle_tick, 60),
    (jobs.resolve_payments, 60),
    (jobs.sweep_account_notices, 10),
    (jobs.purge_sessions, 3600),
    (jobs.heartbeat, 60),
)
