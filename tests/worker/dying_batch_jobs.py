"""A job for the worker tests: a batch sender that dies after the SMTP server took part of it."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage

from webapp.clock import utcnow
from webapp.db import session_scope
from webapp.services.core import outbox
from webapp.services.core.mail import SmtpConnection, SmtpMailer, mailer_from_settings
from worker import runtime
from worker.jobs import attach_document

DELIVERED_BEFORE_DYING = 2


@dataclass
class _DiesAfterDelivering:
    inner: SmtpMailer
    left: int
    _conn: SmtpConnection | None = None

    @property
    def mail_from(self) -> str:
        return self.inner.mail_from

    @contextmanager
    def connection(self) -> Iterator[_DiesAfterDelivering]:
        with self.inner.connection() as conn:
            self._conn = conn
            yield self

    def send(self, message: EmailMessage) -> None:
        self._conn.send(message)
        self.left -= 1
        if self.left == 0:
            os.kill(os.getpid(), signal.SIGKILL)  # before any row of the batch is marked sent


def send_some_then_die(*message_ids: int) -> None:
    """What send_outbox_messages does, killed once the server took two of the messages."""
    settings = runtime.settings()
    with session_scope(runtime.engine()) as session:
        claimed = outbox.claim_many(session, message_ids=message_ids, now=utcnow(),
                                    lease_seconds=settings["OUTBOX_LEASE_SECONDS"])
    assert claimed == sorted(message_ids)
    with session_scope(runtime.engine()) as session:
        outbox.send_many(session, message_ids=claimed, now=utcnow(),
                         smtp=_DiesAfterDelivering(mailer_from_settings(settings),
                                                   left=DELIVERED_BEFORE_DYING),
                         attach=attach_document)
