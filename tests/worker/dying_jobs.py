"""A job for the worker tests: a sender that dies after the SMTP server took the message."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from email.message import EmailMessage

from webapp.clock import utcnow
from webapp.db import session_scope
from webapp.services.core import outbox
from webapp.services.core.mail import Mailer, mailer_from_settings
from worker import runtime
from worker.jobs import attach_document


@dataclass
class _DiesAfterSending:
    inner: Mailer

    @property
    def mail_from(self) -> str:
        return self.inner.mail_from

    def send(self, message: EmailMessage) -> None:
        self.inner.send(message)
        os.kill(os.getpid(), signal.SIGKILL)  # before the row is marked sent


def send_then_die(message_id: int) -> None:
    """What send_outbox_message does, killed between delivering and marking sent."""
    settings = runtime.settings()
    with session_scope(runtime.engine()) as session:
        assert outbox.claim(session, message_id=message_id, now=utcnow(),
                            lease_seconds=settings["OUTBOX_LEASE_SECONDS"])
    with session_scope(runtime.engine()) as session:
        outbox.send(session, message_id=message_id, now=utcnow(),
                    smtp=_DiesAfterSending(mailer_from_settings(settings)),
                    attach=attach_document)
