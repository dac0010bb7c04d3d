"""The portal's RQ worker classes: `rq worker --worker-class worker.rqworker.PortalWorker`.

RQ's worker imports a job's module only when it runs the job, and its default worker runs
each job in a fresh fork: every job then imported the whole app again (about a second of CPU
for a job that takes milliseconds). Importing the jobs here, when the worker starts, gives
every fork the app already loaded. Nothing else is made up front: the engine and the
settings are created lazily in the process that uses them (worker/runtime.py), so no
connection is shared across a fork.
"""

from __future__ import annotations

from rq import SimpleWorker, Worker

import worker.jobs  # noqa: F401 - preloaded for every job of this worker


class PortalWorker(Worker):
    """RQ's forking worker (a job that crashes or hangs takes only its fork down)."""


class PortalSimpleWorker(SimpleWorker):
    """Jobs in the worker's own process (no fork): the benchmarks use it."""
