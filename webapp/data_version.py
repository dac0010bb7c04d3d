"""The data version: a number that changes after every committed write to the database, by
any process (a request, an RQ job, the cron, a command), so that what is computed from the
data can be kept until it changes (the admin home's figures snapshot, webapp/snapshots.py).

Every engine made by `db.make_engine` is watched (`watch`):
- a statement that writes marks its connection: anything but a SELECT (raw SQL included), once
  it changed a row (`cursor.rowcount` ≠ 0: a sweep's UPDATE that found nothing is no change),
  except the tables no snapshot is computed from (`UNWATCHED`: the sign-in's own upkeep, and
  the retention cohort the home stores for itself, which changes no figure);
- at the commit of a connection that wrote, the version moves on:
  - with Redis (REDIS_URL: the app's inside an app context, else the environment's, as
    webapp/runtime.py reads it) an INCR of `REDIS_KEY`, right *after* the commit: a reader
    that read the old number may have read the old data, and the new number sends it away;
  - without Redis (the embedded default: two gunicorn workers and the cron, three processes)
    the database keeps it: the one row of `data_version` is moved on inside the transaction
    that wrote, just before its COMMIT, so the number and the data commit together (SQLite
    already holds its write lock then; on PostgreSQL the row's lock is held only from there
    to the commit's end).
A rolled-back transaction changes nothing. A Redis that cannot be reached loses that INCR (it
is logged): a snapshot then stays until the next write's INCR or its time to live. Writes
that do not go through these engines (psql by hand, a restore) are not seen: the snapshots'
time to live is the backstop. So is a write on a connection in AUTOCOMMIT (none in the
portal; the bench's and tests' database administration), which has no commit to see.
"""

from __future__ import annotations

import logging
import os
import random
import re
from functools import cache, lru_cache

from flask import current_app, has_app_context
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

REDIS_KEY = "portal:data-version"
TABLE = "data_version"
# Writes no snapshot is computed from: a session's last-seen time and its end, the sign-in
# rate limits' counters, and the day's retention cohort (`admin.metrics.retention` stores it
# on a view; it is the same figure summed once, so writing it changes no figure).
UNWATCHED = frozenset({"user_session", "rate_limit_counter", "mrr_cohort", "mrr_cohort_day",
                       "mrr_cohort_total", TABLE})

_WROTE = "portal.data_version.wrote"  # on the pooled connection's `info`
_BUMP_REDIS = "portal.data_version.redis"
_HAS_TABLE = "portal.data_version.table"
_READS = frozenset({"SELECT", "BEGIN", "SAVEPOINT", "RELEASE", "ROLLBACK", "COMMIT", "SHOW",
                    "SET", "PRAGMA", "EXPLAIN", "VALUES"})
# A data-modifying statement inside a WITH (not a row lock: SELECT … FOR [NO KEY] UPDATE).
_DDL = re.compile(r"\s*(CREATE|DROP|ALTER)\b", re.IGNORECASE)
_DML = re.compile(r"\b(INSERT|DELETE|MERGE)\b|(?<!FOR )(?<!KEY )\bUPDATE\b", re.IGNORECASE)


def writes(statement: str, context=None) -> bool:
    """Does this statement (may it) change the data a snapshot is computed from?"""
    if not _may_write(statement):
        return False
    table = getattr(getattr(getattr(context, "compiled", None), "statement", None), "table",
                    None)
    return getattr(table, "name", None) not in UNWATCHED


@lru_cache(maxsize=2048)
def _may_write(statement: str) -> bool:
    """By its text: anything but a read, or a WITH holding a data-modifying statement. Kept
    per text: the pages' statements are SQLAlchemy's cached strings, and a page's 11 KB stack
    cost 0.4 ms of regex on every request (bench/README, issue 32)."""
    words = statement.lstrip().split(None, 1)
    first = words[0].upper() if words else ""
    if first == "WITH":
        return _DML.search(statement) is not None
    return first not in _READS


def _note_write(conn: Connection, cursor, statement: str, _parameters, context,
                _executemany) -> None:
    if cursor.rowcount != 0 and writes(statement, context):
        conn.info[_WROTE] = True
        if _DDL.match(statement):  # the tables may have been dropped: look again at commit
            conn.info.pop(_HAS_TABLE, None)


def redis_url() -> str | None:
    """Where the version is kept: the app's REDIS_URL inside an app context, else the
    environment's (an RQ worker); None: in the database."""
    if has_app_context():
        return current_app.config.get("REDIS_URL")
    return os.environ.get("REDIS_URL") or None


def _before_commit(conn: Connection) -> None:
    if not conn.info.get(_WROTE):
        return
    url = redis_url()
    if url:
        conn.info[_BUMP_REDIS] = url  # after the COMMIT (the dialect's do_commit, below)
        return
    # In the transaction itself, on the driver's cursor (no statement events, no parameters:
    # the first number is a random one of ours, so a table emptied and filled again does not
    # count through the numbers a process may still hold snapshots for).
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        if _has_table(conn, cursor):
            cursor.execute(f"INSERT INTO {TABLE} (id, version) VALUES (1, "
                           f"{random.randrange(1 << 40, 1 << 60)}) ON CONFLICT (id) DO UPDATE "
                           f"SET version = {TABLE}.version + 1")
    finally:
        cursor.close()


def _has_table(conn: Connection, cursor) -> bool:
    """Is there a `data_version` table yet (not while migrations before it run, nor after a
    `drop_all`)? Asked once per pooled connection once it is there, and again after DDL on
    it: a failed statement would fail the commit."""
    if conn.info.get(_HAS_TABLE):
        return True
    cursor.execute(f"SELECT to_regclass('{TABLE}') IS NOT NULL"
                   if conn.dialect.name == "postgresql" else
                   f"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '{TABLE}'")
    found = bool(cursor.fetchone()[0])
    if found:
        conn.info[_HAS_TABLE] = True
    return found


def _forget(dbapi_connection) -> str | None:
    """Clear the connection's marks; the Redis to move the version on in, if it wrote."""
    try:
        info = dbapi_connection.info
    except (AttributeError, NotImplementedError):  # the dialect's first connect: no pool yet
        return None
    info.pop(_WROTE, None)
    return info.pop(_BUMP_REDIS, None)


@cache
def redis_client(url: str) -> Redis:
    # Short timeouts: a dead Redis must not hold a commit, or a page, for long.
    return Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def bump_redis(url: str) -> None:
    try:
        redis_client(url).incr(REDIS_KEY)
    except RedisError as exc:
        log.warning("Redis unreachable; the data version was not moved on (%s)", exc)


def watch(engine: Engine) -> Engine:
    """Move the data version on after every commit of this engine's that wrote."""
    event.listen(engine, "after_cursor_execute", _note_write)
    event.listen(engine, "commit", _before_commit)
    dialect = engine.dialect
    do_commit, do_rollback = dialect.do_commit, dialect.do_rollback

    # SQLAlchemy's `commit` event comes before the COMMIT; there is none after it, so the
    # dialect's own commit is wrapped (it is given the pooled connection, whose `info` is
    # the one the statements marked).
    def commit_then_bump(dbapi_connection) -> None:
        do_commit(dbapi_connection)
        url = _forget(dbapi_connection)
        if url:
            bump_redis(url)

    def rollback_and_forget(dbapi_connection) -> None:
        _forget(dbapi_connection)
        do_rollback(dbapi_connection)

    dialect.do_commit = commit_then_bump
    dialect.do_rollback = rollback_and_forget
    return engine


def current(session, url: str | None) -> int:
    """The version now: Redis's (0 before any write) or the database's (read in `session`'s
    transaction: on SQLite the figures read after it are of the same snapshot)."""
    if url:
        value = redis_client(url).get(REDIS_KEY)
        return int(value) if value is not None else 0
    return int(session.execute(text(f"SELECT version FROM {TABLE} WHERE id = 1")).scalar()
               or 0)
