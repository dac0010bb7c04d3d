"""An SMTP sink on loopback for tests: aiosmtpd in a thread, keeping every message it gets."""

from __future__ import annotations

import re
import socket
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

LINK = re.compile(r"https?://\S+/password/(?:reset|invite)/\S+")


def free_port() -> int:
    """A port nothing listens on right now (aiosmtpd cannot pick one itself)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MailSink:
    """Start with `start()`, read `messages`, stop with `stop()`; `port` is where it listens."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self._arrived = threading.Condition()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd API
        with self._arrived:
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            self._arrived.notify_all()
        return "250 Message accepted"

    def start(self) -> MailSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def wait_for(self, count: int, timeout: float = 20.0) -> list[EmailMessage]:
        """Wait until `count` messages have arrived; fail with what did arrive."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.messages) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"expected {count} mail(s), the sink has "
                                         f"{len(self.messages)}")
                self._arrived.wait(remaining)
            return list(self.messages)

    def wait_for_one(self, wanted, timeout: float = 20.0) -> EmailMessage:
        """The first message `wanted(message)` accepts, waiting for it; other mail the
        schedule sends meanwhile (an overdue reminder) is passed over."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                found = [m for m in self.messages if wanted(m)]
                if found:
                    return found[0]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no wanted mail among the {len(self.messages)} "
                                         f"that arrived")
                self._arrived.wait(remaining)


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def link_in(message: EmailMessage) -> str:
    """The set-password link in a message's plain text."""
    match = LINK.search(text_of(message))
    assert match, f"no set-password link in:\n{text_of(message)}"
    return match.group(0)
