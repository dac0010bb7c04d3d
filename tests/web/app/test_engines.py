"""How each engine asks PostgreSQL to plan: the web app keeps plans, jobs plan afresh."""

import pytest
from sqlalchemy import insert, select, text, update

from tests.web.app.test_query_counts import count_queries
from webapp.db import _reads_only, db, make_engine
from webapp.models import Customer, Organization


def _plan_cache_mode(engine) -> str:
    with engine.connect() as conn:
        return conn.execute(text("SHOW plan_cache_mode")).scalar_one()


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_the_web_apps_engine_lets_postgresql_keep_a_prepared_statements_plan(app, engine):
    assert _plan_cache_mode(app.extensions["database"]) == "auto"


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_jobs_and_commands_plan_every_execution_afresh(engine):
    jobs = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        assert _plan_cache_mode(jobs) == "force_custom_plan"
    finally:
        jobs.dispose()


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_database_restart_between_two_requests_is_not_an_error(app, engine, seeded, client,
                                                                auth):
    """PostgreSQL restarting (every connection of the app's pool ended, as
    `pg_terminate_backend` does) between two requests: the next request still succeeds."""
    from tests.conftest import _admin_sql
    auth.login()
    assert client.get("/").status_code == 200
    pool = app.extensions["database"].pool
    assert pool.checkedin() >= 1  # the first request's connection waits in the pool
    # The timeout waits until each backend has exited (closed its socket), as after a restart;
    # without it the next request could race a backend still on its way out.
    _admin_sql("SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
               f"WHERE datname = '{engine.url.database}' AND pid <> pg_backend_pid()")
    page = client.get("/")
    assert page.status_code == 200 and "Jane" in page.get_data(as_text=True)
    assert client.get("/invoices").status_code == 200


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_request_sends_no_ping_before_its_statements(app, engine, seeded, client, auth,
                                                      monkeypatch):
    """Checking a pooled connection is a look at its socket, not a `SELECT 1` round trip
    (bench/round_trips.py): a dialect that could not ping would not be noticed."""
    auth.login()
    database = app.extensions["database"]

    def no_ping(_dbapi_connection):
        raise AssertionError("a ping was sent")

    monkeypatch.setattr(database.dialect, "do_ping", no_ping)
    assert client.get("/").status_code == 200
    assert client.get("/invoices").status_code == 200


def _prepared(engine) -> list[str]:
    """The statements psycopg has prepared on the pooled connections. The test client's
    requests take turns on one, but a job run in-process after a commit (the sign-in's) may
    have made the pool open a second: every connection it holds is looked at, each checked
    out at once so none is handed out twice."""
    conns = [engine.connect() for _ in range(max(1, engine.pool.checkedin()))]
    try:
        return [statement for conn in conns for statement in conn.execute(
            text("SELECT statement FROM pg_prepared_statements")).scalars()]
    finally:
        for conn in conns:
            conn.close()


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_page_keeps_its_prepared_statement_from_one_request_to_the_next(app, engine, seeded,
                                                                         client, auth):
    """psycopg prepares a statement at its fifth execution on a connection and forgets all of
    them at a ROLLBACK: a request that only read ends with COMMIT, so the dashboard's statement
    is prepared (planned once, PostgreSQL's generic plan) after a few requests."""
    auth.login()
    # 40: the pool hands its connections out in turn (FIFO), and jobs run in-process after the
    # sign-in may have made it open several; with up to eight, each still runs it five times
    for _ in range(40):
        assert client.get("/").status_code == 200
    assert any("next_renewals" in statement
               for statement in _prepared(app.extensions["database"]))


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_request_that_wrote_without_committing_is_still_rolled_back(app, engine, seeded):
    with app.app_context():
        name = db.session.execute(select(Organization.name)).scalar_one()
        db.session.execute(update(Organization).values(name="Not kept"))
        db.close_session()
    with app.app_context():
        assert db.session.execute(select(Organization.name)).scalar_one() == name
        db.session.execute(text("UPDATE organization SET name = 'Not kept either'"))
        db.close_session()
    with app.app_context():
        assert db.session.execute(select(Organization.name)).scalar_one() == name


def test_only_sqlalchemys_selects_count_as_reading():
    """What decides COMMIT (the transaction read) over ROLLBACK at a request's end."""

    class Context:
        def __init__(self, statement):
            self.compiled = statement.compile() if statement is not None else None

    reads = select(Customer.id).where(Customer.id == 1)
    assert _reads_only(Context(reads))
    assert _reads_only(Context(select(reads.cte("c").c.id)))
    assert not _reads_only(Context(update(Customer).values(display_name="x")))
    assert not _reads_only(Context(insert(Customer)))
    assert not _reads_only(Context(text("SELECT 1")))
    assert not _reads_only(Context(None))  # exec_driver_sql
    writes = update(Customer).values(display_name="x").returning(Customer.id).cte("w")
    assert not _reads_only(Context(select(writes.c.id)))


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_read_on_a_connection_lost_midway_closes_as_before(app, engine, seeded):
    """A connection invalidated during the request (a disconnect) is not asked to COMMIT."""
    with app.app_context():
        db.session.execute(select(Organization.name)).scalar_one()
        db.session.connection().invalidate()
        db.close_session()
    with app.app_context():
        assert db.session.execute(select(Organization.name)).scalar_one()


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_the_pages_long_statements_are_converted_once_not_on_every_request(
        app, engine, seeded, client, auth, monkeypatch):
    """psycopg turns a statement's placeholders into PostgreSQL's ($1, $2…) once per text,
    from a cache that takes texts up to a length; the dashboard's stacked statement (7.5 KB
    on the bench) and the login with the polled forward status's read are longer than its
    4,096 bytes, and were converted again on every request (issue 32)."""
    from psycopg import _queries  # the conversion this test watches

    uncached = []
    convert = _queries._query2pg_nocache  # noqa: SLF001

    def counted(query, encoding):
        uncached.append(query)
        return convert(query, encoding)

    monkeypatch.setattr(_queries, "_query2pg_nocache", counted)
    auth.login()
    with count_queries(app.extensions["database"]) as statements:
        for _ in range(3):
            assert client.get("/").status_code == 200
    assert max(len(s.encode()) for s in statements) > 4096
    assert uncached == []
