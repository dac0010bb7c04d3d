"""Fixtures shared by every test: databases (SQLite and PostgreSQL), app, client, login."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

os.environ.setdefault("SECRET_KEY", "test-secret-key")
os.environ.setdefault("PORTAL_INSTANCE_PATH", "/tmp/portal-test-instance")

from tests.compiled_templates import COMPILED  # noqa: E402
from webapp import (
    create_app,  # noqa: E402
    demo,  # noqa: E402
)
from webapp.db import make_engine  # noqa: E402
from webapp.models import metadata  # noqa: E402
from webapp.services.accounts.auth import HASH_METHOD as PRODUCT_HASH_METHOD  # noqa: E402

PG_HOST = os.environ.get("TEST_PG_HOST", "127.0.0.1:5432")
PG_ADMIN_URL = f"postgresql+psycopg://postgres@{PG_HOST}/test"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
FIXED_NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)

# `catalogs` and `service_catalogs`: tiny compiled catalogs written at test time.
pytest_plugins = ("tests.i18n.catalogs",)

try:
    from hypothesis import settings as hypothesis_settings

    hypothesis_settings.register_profile("ci", max_examples=40, deadline=None)
    hypothesis_settings.register_profile("dev", max_examples=15, deadline=None)
    hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")
except ImportError:  # pragma: no cover
    pass


def _run_id() -> str:
    """Unique per pytest process, so parallel runs never share a PostgreSQL database."""
    return f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"


def postgres_url(name: str) -> str:
    return f"postgresql+psycopg://postgres@{PG_HOST}/{name}"


def _admin_sql(*statements: str) -> None:
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
    except Exception as exc:  # noqa: BLE001 - turn any connection failure into a clear message
        pytest.fail(f"PostgreSQL is required at {PG_HOST} (user postgres, db test) and is not "
                    f"usable: {exc}", pytrace=False)
    finally:
        admin.dispose()


def create_postgres_database(prefix: str) -> str:
    """A fresh, empty database named for this test run; returns its name."""
    name = f"{prefix}_{_run_id()}"
    _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    return name


def drop_postgres_database(name: str) -> None:
    _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", autouse=True)
def quick_password_hashes() -> Iterator[None]:
    """Passwords hashed with a cheap scrypt (N=1024, 3 ms) instead of the product's (N=32768,
    0.1 s): the suite signs in thousands of times. `auth.hash_password` and the demo's users
    use it; what checks a password follows the cost its stored hash names."""
    from webapp.services.accounts import auth

    auth.HASH_METHOD = "scrypt:1024:8:1"
    demo._demo_hash.cache_clear()
    yield
    auth.HASH_METHOD = PRODUCT_HASH_METHOD
    demo._demo_hash.cache_clear()


@pytest.fixture(scope="session")
def sqlite_engine(tmp_path_factory) -> Iterator[Engine]:
    path = tmp_path_factory.mktemp("db") / "portal.db"
    engine = make_engine(f"sqlite:///{path}")
    metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgresql_engine() -> Iterator[Engine]:
    name = create_postgres_database("portal_test")
    engine = make_engine(postgres_url(name))
    metadata.create_all(engine)
    yield engine
    engine.dispose()
    drop_postgres_database(name)


def wipe(engine: Engine) -> None:
    """Empty every table, fast, between tests: a DELETE each, children first, and on
    PostgreSQL every id sequence back to 1, in one round trip. (A TRUNCATE of the tables
    took 0.75 s on PostgreSQL for tables a test leaves nearly empty, half a web test's time,
    and its exclusive locks could deadlock with a browser test's server still reading.)"""
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    for attempt in range(3):  # a browser test's server still writing can deadlock with it
        try:
            with engine.begin() as conn:
                if engine.dialect.name == "postgresql":
                    conn.exec_driver_sql("".join(f'DELETE FROM "{t}";' for t in tables)
                                         + _RESTART)
                else:
                    for table in tables:
                        conn.execute(text(f'DELETE FROM "{table}"'))
            return
        except OperationalError as exc:
            if attempt == 2 or "deadlock detected" not in str(exc):
                raise


_RESTART = ("SELECT setval(c.oid::regclass, 1, false) FROM pg_class c "
            "WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace;")


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request) -> Engine:
    """Each database test runs on SQLite and on PostgreSQL, starting from empty tables."""
    engine = request.getfixturevalue(f"{request.param}_engine")
    wipe(engine)
    return engine


@pytest.fixture
def session(engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def now() -> datetime:
    return FIXED_NOW


@pytest.fixture
def app(engine):
    app = create_app({
        "TESTING": True,
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "SECRET_KEY": "test-secret-key",
        "REDIS_URL": None,
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "FIXED_NOW": FIXED_NOW,
    })
    app.jinja_env.bytecode_cache = COMPILED  # before its first render (tests/compiled_templates.py)
    return app


@pytest.fixture
def seeded(app):
    """The demo data, as `make run` loads it: seeded by `demo.seed_demo` the first time on
    each database of this test process, then put back from that seed's rows (`_DemoRows`)."""
    from webapp.db import db

    with app.app_context():
        kept = _DEMO_ROWS.get(app.config["DATABASE_URL"])
        if kept is not None and kept.restore(db.session.connection()):
            db.session.commit()
            return kept.result
        result = demo.seed_demo(db.session, now=FIXED_NOW)
        db.session.commit()
        if kept is None and result.created:
            _DEMO_ROWS[app.config["DATABASE_URL"]] = _DemoRows.read(db.session.connection(),
                                                                    result)
        db.session.rollback()
    return result


class _DemoRows:
    """Every row `demo.seed_demo` wrote into an empty database, to write again into the next
    test's empty one. Seeding runs the billing core (invoices, payments, events): half of a web
    test's time; writing its rows back takes a few statements. The rows go in through the
    app's engine, so a commit moves the data version on as seeding does; PostgreSQL's id
    sequences are set past them. A database that is not empty is seeded the slow way.
    `data_version`'s one row is the app's own (webapp/data_version.py), not the demo's: the
    restore's commit moves it on, as seeding's does."""

    @staticmethod
    def tables() -> list:
        return [table for table in metadata.sorted_tables if table.name != "data_version"]

    def __init__(self, result, rows: dict[str, list[dict]]) -> None:
        self.result, self.rows = result, rows

    @classmethod
    def read(cls, conn, result) -> _DemoRows:
        from sqlalchemy import select

        return cls(result, {
            table.name: [dict(row._mapping) for row in conn.execute(
                select(table).order_by(*table.primary_key.columns))]
            for table in cls.tables()})

    def restore(self, conn) -> bool:
        from sqlalchemy import insert, select, union_all

        anything = union_all(*(select(text("1")).select_from(table)
                               for table in self.tables())).limit(1)
        if conn.execute(anything).first() is not None:
            return False
        for table in self.tables():
            rows = self.rows[table.name]
            if not rows:
                continue
            conn.execute(insert(table), rows)
            if conn.dialect.name == "postgresql":
                for column in table.primary_key.columns:
                    if column.autoincrement is True or (
                            column.autoincrement == "auto" and len(table.primary_key.columns) == 1
                            and column.type.python_type is int):
                        conn.execute(text("SELECT setval(pg_get_serial_sequence(:t, :c), :n)"),
                                     {"t": f'"{table.name}"', "c": column.name,
                                      "n": max(row[column.name] for row in rows)})
        return True


_DEMO_ROWS: dict[str, _DemoRows] = {}


@pytest.fixture
def client(app):
    return app.test_client()


_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "page has no CSRF token"
    return match.group(1) or match.group(2)


class Auth:
    """Logs a test client in and out the way a browser does (CSRF included)."""

    def __init__(self, client) -> None:
        self.client = client

    def csrf(self, path: str = "/login") -> str:
        return csrf_token_from(self.client.get(path).get_data(as_text=True))

    def login(self, email: str = demo.JANE[0], password: str = demo.JANE[1]):
        token = self.csrf("/login")
        return self.client.post("/login", data={"email": email, "password": password,
                                                "csrf_token": token})

    def logout(self):
        token = self.csrf("/account")
        return self.client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client) -> Auth:
    return Auth(client)


def post_form(client, path: str, data: dict, *, htmx: bool = False, token_from: str | None = None):
    """POST a form, as a browser does from the page it was on: a valid CSRF token taken from
    that page of this session, and that page as the Referer."""
    page = token_from or path
    token = csrf_token_from(client.get(page).get_data(as_text=True))
    headers = {"HX-Request": "true"} if htmx else {"Referer": f"http://localhost{page}"}
    return client.post(path, data={**data, "csrf_token": token}, headers=headers)
