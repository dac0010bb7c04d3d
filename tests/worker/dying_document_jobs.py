"""Jobs for the worker tests: a sender that dies while it renders a forwarded document."""

from __future__ import annotations

import os
import signal

from webapp.clock import utcnow
from webapp.db import session_scope
from webapp.models import OutboxMessage
from webapp.services.core import outbox
from worker import runtime
from worker.jobs import attach_document


def render_then_die(message_id: int) -> None:
    """What send_outbox_message does, killed after rendering the PDF and before sending."""
    settings = runtime.settings()
    with session_scope(runtime.engine()) as session:
        assert outbox.claim(session, message_id=message_id, now=utcnow(),
                            lease_seconds=settings["OUTBOX_LEASE_SECONDS"])
    with session_scope(runtime.engine()) as session:
        row = session.get(OutboxMessage, message_id)
        outbox.build_message(session, row, mail_from=settings["MAIL_FROM"], now=utcnow(),
                             attach=attach_document)
        os.kill(os.getpid(), signal.SIGKILL)
