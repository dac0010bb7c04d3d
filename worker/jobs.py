"""RQ jobs: thin wrappers that take ids, open a session, call one service and commit."""

from __future__ import annotations

import logging

from webapp.clock import utcnow

log = logging.getLogger("portal.jobs")


def heartbeat() -> str:
    """Proves the schedule runs: logs and returns the time it ran."""
    stamp = utcnow().isoformat(timespec="seconds")
    log.info("portal heartbeat %s", stamp)
    return stamp
