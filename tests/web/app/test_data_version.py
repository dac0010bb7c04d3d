"""The data version (webapp/data_version.py, issue 31's figures snapshot): it moves on after
every committed write, whatever wrote (an ORM flush, a Core update, raw SQL, a worker outside
any app), and not on a read, a rollback or a write that changed nothing; with Redis it is
shared by every app and moved on only once the commit is done."""

from __future__ import annotations

import os

import pytest
from redis import Redis
from sqlalchemy import text, update
from sqlmodel import Session, select

from tests.conftest import FIXED_NOW, REDIS_URL
from webapp import create_app, data_version, demo
from webapp.db import db, make_engine
from webapp.models import Organization, UserSession


def version(app) -> int:
    with app.app_context():
        return data_version.current(db.session, app.config["REDIS_URL"])


@pytest.fixture
def redis_url() -> str:
    """TEST_REDIS_URL. Its data version is shared with the other test processes' Redis apps:
    it only ever grows, and a test sees it grow (never by exactly one)."""
    return REDIS_URL


def redis_app(engine, redis_url):
    return create_app({
        "TESTING": True, "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "SECRET_KEY": "test-secret-key", "REDIS_URL": redis_url,
        "LOGIN_RATE_LIMIT": "1000 per minute", "FIXED_NOW": FIXED_NOW})


def rename(app, name: str, how: str) -> None:
    with app.app_context():
        session = db.session
        if how == "orm":
            session.get(Organization, 1).name = name
        elif how == "core":
            session.execute(update(Organization).where(Organization.id == 1).values(name=name))
        else:
            session.execute(text("UPDATE organization SET name = :name WHERE id = 1"),
                            {"name": name})
        session.commit()


@pytest.mark.parametrize("how", ["orm", "core", "raw"])
def test_a_committed_write_moves_the_version_on(app, seeded, how):
    before = version(app)
    rename(app, f"Renamed by {how}", how)
    after = version(app)
    assert after != before
    rename(app, "Again", how)
    assert version(app) not in (before, after)


def test_a_rollback_a_read_and_a_write_that_changed_nothing_do_not(app, seeded):
    before = version(app)
    with app.app_context():
        db.session.get(Organization, 1).name = "Never committed"
        db.session.flush()
        db.session.rollback()
        db.session.execute(update(Organization).where(Organization.id == -1).values(name="x"))
        db.session.commit()
        db.session.exec(select(Organization)).all()
        db.session.commit()
    assert version(app) == before


def test_the_sign_ins_upkeep_is_not_a_change_of_the_figures(app, seeded):
    """A session's last-seen time moves on every minute of every reader: no snapshot is
    computed from it."""
    before = version(app)
    with app.app_context():
        db.session.execute(update(UserSession).values(last_seen_at=FIXED_NOW))
        db.session.commit()
    assert version(app) == before


def test_read_only_requests_leave_it_alone(app, client, auth, seeded):
    auth.login(*demo.ADMIN)
    client.get("/admin/")  # the first view of the day stores the retention cohort
    before = version(app)
    for path in ("/admin/", "/admin/?window=12m", "/admin/invoices", "/admin/customers"):
        assert client.get(path).status_code == 200
    assert version(app) == before
    auth.logout()
    auth.login()
    before = version(app)
    for path in ("/", "/invoices", "/subscriptions"):
        assert client.get(path).status_code == 200
    assert version(app) == before


def _rename_on_an_engine_of_its_own(engine) -> None:
    """What an RQ worker or a command does: its own engine, no app context."""
    worker = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with Session(worker) as session:
            session.get(Organization, 1).name = "Renamed by a worker"
            session.commit()
    finally:
        worker.dispose()


def test_a_writer_outside_the_app_moves_it_on_too(app, seeded, engine):
    """A job or command on an engine of its own (the RQ worker's), no app context."""
    before = version(app)
    _rename_on_an_engine_of_its_own(engine)
    assert version(app) != before


def test_with_redis_two_apps_share_it(engine, seeded, redis_url):
    first, second = redis_app(engine, redis_url), redis_app(engine, redis_url)
    before = version(second)
    rename(first, "Written by the first app", "orm")
    middle = version(second)
    assert middle > before and version(first) >= middle
    rename(second, "Written by the second app", "raw")
    assert version(first) > middle


def test_with_redis_a_worker_moves_it_on_after_its_commit(engine, seeded, redis_url,
                                                          monkeypatch):
    """An RQ worker reads REDIS_URL from the environment. The INCR comes after the COMMIT:
    a reader that saw the new number can see the new data."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    seen = []

    def bump(url):
        with engine.connect() as conn:  # another connection: only what is committed
            seen.append(conn.execute(text("SELECT name FROM organization")).scalar())
        Redis.from_url(url).incr(data_version.REDIS_KEY)

    monkeypatch.setattr(data_version, "bump_redis", bump)
    before = int(Redis.from_url(redis_url).get(data_version.REDIS_KEY) or 0)
    _rename_on_an_engine_of_its_own(engine)
    assert seen == ["Renamed by a worker"]
    assert int(Redis.from_url(redis_url).get(data_version.REDIS_KEY)) > before
    assert os.environ["REDIS_URL"] == redis_url


def test_a_redis_that_is_down_does_not_fail_the_commit(engine, seeded):
    app = redis_app(engine, "redis://127.0.0.1:1/0")
    rename(app, "Written while Redis is down", "orm")
    with app.app_context():
        assert db.session.get(Organization, 1).name == "Written while Redis is down"


@pytest.mark.parametrize("statement, writes", [
    ("SELECT 1", False), ("  select * from invoice for update", False), ("BEGIN IMMEDIATE", False),
    ("SAVEPOINT sa_1", False), ("WITH x AS (SELECT 1) SELECT * FROM x", False),
    ("WITH x AS (SELECT id FROM payment) SELECT * FROM x FOR UPDATE", False),
    ("WITH x AS (SELECT id FROM payment) SELECT * FROM x FOR NO KEY UPDATE", False),
    ("WITH x AS (UPDATE payment SET amount = 1 RETURNING id) SELECT * FROM x", True),
    ("INSERT INTO invoice VALUES (1)", True), ("update invoice set status = 'void'", True),
    ("DELETE FROM payment", True), ("WITH gone AS (DELETE FROM payment RETURNING id) "
                                    "SELECT count(*) FROM gone", True),
    ("TRUNCATE invoice", True), ("CREATE TABLE x (id int)", True)])
def test_which_statements_write(statement, writes):
    assert data_version.writes(statement) is writes


def test_dropping_every_table_and_making_them_again_still_commits(engine):
    """As the tick bench's `seed` does: drop_all and create_all on a pooled connection that
    had seen the data_version table; the version's row is written again once it is back."""
    from webapp.models import metadata

    other = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with other.begin() as conn:  # the connection learns that the table is there
            conn.execute(text("UPDATE organization SET name = 'x' WHERE id = -1"))
            conn.execute(text("DELETE FROM data_version"))
        metadata.drop_all(other)
        metadata.create_all(other)
        with other.begin() as conn:
            assert conn.execute(text("SELECT count(*) FROM data_version")).scalar() == 1
    finally:
        other.dispose()


def test_a_statements_text_is_read_once():
    """A page's statement is the same text on every request: it is scanned for a write once
    (the dashboard's 11 KB stack cost 0.4 ms of regex per request)."""
    statement = "WITH page AS (SELECT 1 AS x) SELECT x FROM page" + " " * 11_000
    data_version.writes(statement)
    before = data_version._may_write.cache_info()  # noqa: SLF001
    for _ in range(5):
        assert data_version.writes(statement) is False
    after = data_version._may_write.cache_info()  # noqa: SLF001
    assert (after.hits - before.hits, after.misses - before.misses) == (5, 0)
