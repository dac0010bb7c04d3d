"""A storage for the `limits` library (behind Flask-Limiter) in the portal's own database.

Flask-Limiter keeps counters in memory unless told otherwise, and its Redis storage falls back
to memory when Redis is down: either way each gunicorn worker then counts on its own, and two
workers let twice the limit through. The database is what every worker already shares, so the
login limits count here, on SQLite and PostgreSQL alike, with Redis or without. Each hit is
one upsert (INSERT ... ON CONFLICT DO UPDATE ... RETURNING), atomic on both databases. The
storage registers itself with `limits` under the scheme `portal-db://` and gets the engine
through RATELIMIT_STORAGE_OPTIONS (webapp/__init__.py).

Each count commits on its own connection, before the view runs, so a refused or failed request
still counts. A limit's key function must therefore not read the database: on SQLite a POST's
own transaction takes the write lock with its first statement, and the count would wait for it.
"""

from __future__ import annotations

import time

from limits.storage import Storage
from sqlalchemy import case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from webapp.models import RateLimitCounter

_TABLE = RateLimitCounter.__table__
_C = _TABLE.c


class DatabaseStorage(Storage):
    """Fixed-window counters in the `rate_limit_counter` table."""

    STORAGE_SCHEME = ["portal-db"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, *,
                 engine: Engine, **options) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.engine = engine

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def _insert(self):
        return (postgresql if self.engine.dialect.name == "postgresql" else sqlite).insert(_TABLE)

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add `amount` to the key's counter, starting a new window if the last one ended."""
        now = time.time()
        insert = self._insert().values(key=key, count=amount, expires_at=now + expiry)
        expired = _C.expires_at <= now
        statement = insert.on_conflict_do_update(index_elements=[_C.key], set_={
            "count": case((expired, insert.excluded.count), else_=_C.count + amount),
            "expires_at": case((expired, insert.excluded.expires_at), else_=_C.expires_at),
        }).returning(_C.count)
        with self.engine.begin() as connection:
            return connection.execute(statement).scalar_one()

    def get(self, key: str) -> int:
        with self.engine.connect() as connection:
            count = connection.execute(select(_C.count).where(
                _C.key == key, _C.expires_at > time.time())).scalar()
        return count or 0

    def get_expiry(self, key: str) -> float:
        with self.engine.connect() as connection:
            expires_at = connection.execute(select(_C.expires_at).where(_C.key == key)).scalar()
        return expires_at if expires_at is not None else time.time()

    def check(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(select(1))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self.engine.begin() as connection:
            return connection.execute(delete(_TABLE)).rowcount

    def clear(self, key: str) -> None:
        with self.engine.begin() as connection:
            connection.execute(delete(_TABLE).where(_C.key == key))

    def purge(self) -> int:
        """Delete counters whose window ended (the schedule's housekeeping)."""
        with self.engine.begin() as connection:
            return connection.execute(delete(_TABLE).where(
                _C.expires_at <= time.time())).rowcount
