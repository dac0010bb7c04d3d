"""A webhook receiver on 127.0.0.1 for the tests: verifies each request with standardwebhooks'
own `Webhook.verify`, records what arrived, and can be told to fail, to sleep, or to go down.

    with Receiver(secrets=[secret]) as receiver:
        ... receiver.url ... receiver.received ... receiver.fail_next(3) ... receiver.stop()
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError


@dataclass
class Arrival:
    id: str
    payload: dict[str, Any]
    headers: dict[str, str]
    verified_with: tuple[int, ...]  # indexes of the receiver's secrets that verify it


@dataclass
class Receiver:
    secrets: list[str] = field(default_factory=list)
    path: str = "/hooks"
    received: list[Arrival] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # why a request failed verification
    failed_ids: list[str] = field(default_factory=list)  # verified, but answered with a failure
    status: int = 200
    failures_left: int = 0
    sleep_seconds: float = 0.0
    port: int = 0

    def __post_init__(self) -> None:
        self.hold: threading.Event | None = None  # set: each request waits until it is set
        self.in_flight = 0  # requests arrived and not yet answered
        self._server: ThreadingHTTPServer | None = None
        self._lock = threading.Lock()
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    @property
    def ids(self) -> list[str]:
        return [a.id for a in self.received]

    def fail_next(self, count: int, status: int = 503) -> None:
        self.failures_left, self._failure_status = count, status

    def start(self) -> None:
        """Listen (again, on the same port after `stop`)."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                status = receiver._take(body, dict(self.headers.items()))
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Go down: connections are refused until `start`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _take(self, body: bytes, headers: dict[str, str]) -> int:
        with self._lock:
            self.in_flight += 1
        try:
            if self.sleep_seconds:
                time.sleep(self.sleep_seconds)
            if self.hold is not None:
                self.hold.wait(30)
            return self._verify(body, headers)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _verify(self, body: bytes, headers: dict[str, str]) -> int:
        verified = []
        payload = None
        for index, secret in enumerate(self.secrets):
            try:
                payload = Webhook(secret).verify(body, headers)
            except WebhookVerificationError as exc:
                reason = str(exc)
            else:
                verified.append(index)
        if not verified:
            with self._lock:
                self.rejected.append(reason if self.secrets else "no secret")
            return 401
        with self._lock:
            if self.failures_left > 0:
                self.failures_left -= 1
                self.failed_ids.append(headers.get("webhook-id") or headers.get("Webhook-Id"))
                return self._failure_status
            self.received.append(Arrival(headers.get("webhook-id") or headers.get("Webhook-Id"),
                                         payload, headers, tuple(verified)))
        return self.status

    def wait_for_request(self, timeout: float = 10.0) -> bool:
        """Until a request is being answered (held or sleeping)."""
        deadline = time.monotonic() + timeout
        while not self.in_flight and time.monotonic() < deadline:
            time.sleep(0.02)
        return bool(self.in_flight)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Arrival]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.received)

    def types(self) -> list[str]:
        return [a.payload["type"] for a in self.received]

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def payload_of(arrival: Arrival) -> str:
    return json.dumps(arrival.payload)
