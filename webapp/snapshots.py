"""Rendered HTML kept until the data changes (issue 31): the admin home's panels, whose
figures are sums over every customer's rows, are drawn once per data version and reused
until the next committed write (webapp/data_version.py) or the end of the day.

A snapshot is found by its key (what the HTML depends on besides the data: the view's name,
the organization's date, the GET parameters, the reader's locale and language...) and is
used only if it was drawn at the data version there is now. Where it lives follows the app's
choice of Redis (webapp/config.py):
- with REDIS_URL, in Redis, shared by every worker: one MGET reads the version and the
  snapshot together; a snapshot expires after `TTL` whatever happens (a backstop);
- without, in each process, the last `MEMORY_SIZE` used (least recently used dropped first),
  the same `TTL`, the version read from the database in the request's transaction.
Redis failing never fails the page: the HTML is drawn as if there were no snapshot.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from flask import Flask, current_app
from redis.exceptions import RedisError
from sqlmodel import Session

from webapp import data_version

log = logging.getLogger(__name__)

TTL = 600  # seconds
MEMORY_SIZE = 32
KEY_PREFIX = "portal:snapshot:"


class Snapshots:
    def __init__(self, redis_url: str | None, database_url: str = "", *, ttl: int = TTL,
                 size: int = MEMORY_SIZE):
        self.redis_url, self.ttl, self.size = redis_url, ttl, size
        # In every key: one Redis may serve two databases (tests do, in parallel).
        self.prefix = KEY_PREFIX + hashlib.sha256(database_url.encode()).hexdigest()[:16] + ":"
        self._memory: OrderedDict[str, tuple[int, float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_render(self, session: Session, parts: tuple[Hashable, ...],
                      render: Callable[[], str]) -> str:
        """The snapshot for `parts` at the current data version, else `render()`'s HTML
        (kept for the next reader)."""
        key = self.prefix + hashlib.sha256(repr(parts).encode()).hexdigest()
        try:
            version, found = self._read(session, key)
        except (RedisError, ValueError) as exc:
            log.warning("snapshot store unusable; drawing without it (%s)", exc)
            return render()
        if found is not None:
            return found
        html = render()
        try:
            self._write(key, version, html)
        except RedisError as exc:
            log.warning("snapshot store unusable; not kept (%s)", exc)
        return html

    def clear(self) -> None:
        """Forget this database's snapshots (tests measuring the uncached path)."""
        with self._lock:
            self._memory.clear()
        if self.redis_url:
            client = data_version.redis_client(self.redis_url)
            keys = list(client.scan_iter(match=self.prefix + "*"))
            if keys:
                client.delete(*keys)

    def _read(self, session: Session, key: str) -> tuple[int, str | None]:
        if self.redis_url:
            raw_version, raw = data_version.redis_client(self.redis_url).mget(
                data_version.REDIS_KEY, key)
            version = int(raw_version or 0)
            if raw is not None:
                stored, _, html = raw.partition(b"\n")
                if int(stored) == version:
                    return version, html.decode()
            return version, None
        version = data_version.current(session, None)
        with self._lock:
            entry = self._memory.get(key)
            if entry is not None and entry[0] == version and entry[1] > time.monotonic():
                self._memory.move_to_end(key)
                return version, entry[2]
        return version, None

    def _write(self, key: str, version: int, html: str) -> None:
        if self.redis_url:
            data_version.redis_client(self.redis_url).set(
                key, f"{version}\n".encode() + html.encode(), ex=self.ttl)
            return
        with self._lock:
            self._memory[key] = (version, time.monotonic() + self.ttl, html)
            self._memory.move_to_end(key)
            while len(self._memory) > self.size:
                self._memory.popitem(last=False)


def init_app(app: Flask) -> None:
    app.extensions["snapshots"] = Snapshots(app.config.get("REDIS_URL"),
                                            app.config["DATABASE_URL"])


def snapshots() -> Snapshots:
    return current_app.extensions["snapshots"]
