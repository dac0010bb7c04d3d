"""Engine and per-request session handling.

`db.session` is one SQLModel Session per request (or per app context in the CLI); it is closed,
and rolled back if uncommitted, when the context ends. Services receive it as an argument.
"""

from __future__ import annotations

import select
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import psycopg
from flask import Flask, current_app, g, request
from psycopg import _queries as psycopg_queries
from psycopg.pq import ConnStatus, TransactionStatus
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlmodel import Session, create_engine

from webapp import data_version
from webapp.services.billing import mrr

# Every session records the MRR movements its transaction noted, before it commits (issue 31).
mrr.install()

# psycopg turns a statement's %(name)s placeholders into PostgreSQL's $1, $2… once per text,
# from a cache it keeps only for texts up to MAX_CACHED_STATEMENT_LENGTH (4,096 bytes, no
# public setting); a longer one is converted again on every execution. The pages' stacked
# statements are longer (the dashboard's 7.5 KB, /subscriptions' 4.6 KB, the login with the
# polled forward status's read 5.2 KB), and their conversion was 0.1–0.3 ms of client CPU per
# request (bench/README.md, issue 32). The limit is there for ORM-made INSERTs of many rows,
# whose texts vary; those also have more parameters than its other limit (50) allows, which
# still keeps them out. tests/web/app/test_engines.py fails if this stops taking effect.
psycopg_queries.MAX_CACHED_STATEMENT_LENGTH = max(  # noqa: SLF001
    psycopg_queries.MAX_CACHED_STATEMENT_LENGTH, 16_384)

_write_intent: ContextVar[bool] = ContextVar("sqlite_write_intent", default=False)


@contextmanager
def write_intent() -> Iterator[None]:
    """Transactions begun inside take SQLite's write lock at BEGIN (no effect elsewhere)."""
    token = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(token)


def set_write_intent(value: bool) -> None:
    """For a whole request: POSTs write, so their transactions begin IMMEDIATE on SQLite."""
    _write_intent.set(value)


def make_engine(url: str, *, generic_plans: bool = False, **kwargs) -> Engine:
    """Create an engine; SQLite gets WAL mode, a busy timeout and enforced foreign keys.
    Every engine's committed writes move the data version on (webapp/data_version.py).
    On PostgreSQL, `generic_plans` lets the server keep a plan for a prepared statement
    (its default); without it every execution is planned afresh (see below)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 15, "check_same_thread": False},
                               **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=15000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        # We emit BEGIN ourselves: in WAL mode a transaction that read first and writes later
        # fails at once (SQLITE_BUSY_SNAPSHOT) if another connection committed in between, and
        # busy_timeout does not help. Work that writes (POSTs, jobs, commands) runs under
        # `write_intent()` and begins IMMEDIATE, taking the write lock up front and waiting
        # its turn; page views begin deferred and read concurrently.
        @event.listens_for(engine, "connect")
        def _no_pysqlite_begin(dbapi_connection, _record):
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")

        return data_version.watch(engine)
    # psycopg prepares a statement run five times on a connection, and PostgreSQL may then
    # keep one generic plan for it for the connection's life: a plan chosen while a table was
    # small (a seq scan) stays when it has grown, and a worker's connection lives for days.
    # Planned afresh for each execution (parsing is still saved), the plan follows the data.
    # That is the default for jobs and commands, whose batches grow tables by thousands of
    # rows within one run. The web app's engine asks for `generic_plans`: its statements
    # are a customer's rows through an index, the same plan at any size, and a table's plans
    # are dropped whenever (auto)ANALYZE refreshes its statistics. Planning was most of a
    # page's statement time on PostgreSQL: the forward status's one statement planned in
    # 0.32 ms and ran in 0.07 ms (EXPLAIN ANALYZE on the bench database).
    options = {} if generic_plans else {"options": "-c plan_cache_mode=force_custom_plan"}
    connect_args = {**options, **kwargs.pop("connect_args", {})}
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        event.listen(engine, "checkout", _discard_if_ended)
    if generic_plans:
        _keep_prepared_statements(engine)
    return data_version.watch(engine)


_WROTE = "portal_transaction_wrote"  # Connection.info: a statement of this transaction may write


def _keep_prepared_statements(engine: Engine) -> None:
    """A transaction that only read ends with COMMIT, not ROLLBACK, so psycopg keeps the
    statements it prepared on the connection.

    psycopg forgets every prepared statement at a ROLLBACK (and deallocates them on the
    server), and a request's session ends its transaction with one: no statement ever reached
    its fifth execution on a connection, so PostgreSQL parsed and planned every page's
    statement on every request, the kept generic plans above notwithstanding (the dashboard's
    one statement: 3.2 ms of server CPU planned each time, 0.47 ms prepared; bench/README.md,
    issue 32). For a transaction that wrote nothing, COMMIT and ROLLBACK leave the data the
    same. A transaction counts as reading only while every statement it ran was a SELECT
    built with SQLAlchemy (no text, no DML, no data-modifying CTE): anything else, or a
    transaction in error, is rolled back as before."""

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        conn.info[_WROTE] = False

    @event.listens_for(engine, "before_cursor_execute")
    def _note(conn, _cursor, _statement, _parameters, context, _executemany) -> None:
        if not conn.info.get(_WROTE) and not _reads_only(context):
            conn.info[_WROTE] = True

    @event.listens_for(engine, "rollback")
    def _commit_reads(conn) -> None:
        if conn.invalidated or conn.info.get(_WROTE, True):  # a lost connection: as before
            return
        driver = conn.connection.driver_connection
        if driver.pgconn.transaction_status == TransactionStatus.INTRANS:
            try:
                driver.commit()  # the ROLLBACK then finds no transaction and drops nothing
            except psycopg.Error:
                pass  # a connection lost on the way: the ROLLBACK meets it as before


def _reads_only(context) -> bool:
    compiled = getattr(context, "compiled", None)
    statement = getattr(compiled, "statement", None)
    if statement is None or not statement.is_select or statement.is_text:
        return False
    return not any(cte.element.is_dml for cte in getattr(compiled, "ctes", None) or ())


def _discard_if_ended(dbapi_connection, _record, _proxy) -> None:
    """A pooled PostgreSQL connection the server has ended is not handed out: SQLAlchemy's
    pool retries the checkout with a new connection (its documented pessimistic recipe).

    SQLAlchemy's `pool_pre_ping` sends `SELECT 1` at every checkout, and in psycopg that
    ping also opens the transaction: one round trip more per request, for every request
    (bench/round_trips.py, bench/README.md). A server that ends a connection (a restart,
    `pg_terminate_backend`, an idle timeout) tells the client so: it sends its FATAL notice
    and closes the socket, so an idle pooled connection with anything to read, or already
    marked bad, has been ended. Asking the socket costs one poll() and no round trip. What
    it cannot see (a peer gone without a word, as across a broken network) neither the
    ping nor this would have prevented between checkout and the request's first statement."""
    pgconn = dbapi_connection.pgconn
    if pgconn.status != ConnStatus.OK:
        raise DisconnectionError("the connection is closed or broken")
    poller = select.poll()
    poller.register(pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
    if poller.poll(0):
        raise DisconnectionError("the server ended the connection while it was pooled")


class Database:
    """Binds an engine to the app and hands out the request's session."""

    def __init__(self) -> None:
        self._engines: dict[str, Engine] = {}

    def init_app(self, app: Flask) -> None:
        url = app.config["DATABASE_URL"]
        if url not in self._engines:
            self._engines[url] = make_engine(url, generic_plans=True)
        app.extensions["database"] = self._engines[url]
        app.teardown_appcontext(self._close_session)

        @app.before_request
        def _writes_begin_immediate() -> None:
            set_write_intent(request.method not in {"GET", "HEAD", "OPTIONS"})

    @property
    def engine(self) -> Engine:
        return current_app.extensions["database"]

    @property
    def session(self) -> Session:
        if "db_session" not in g:
            g.db_session = Session(self.engine, expire_on_commit=False)
        return g.db_session

    @staticmethod
    def close_session() -> None:
        """Close the request's session now (rolled back if uncommitted); idempotent."""
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    def _close_session(self, _exc: BaseException | None) -> None:
        self.close_session()
        set_write_intent(False)


db = Database()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session for jobs and commands: commit on success, roll back on error."""
    with write_intent():
        session = Session(engine, expire_on_commit=False)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
