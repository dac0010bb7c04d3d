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

from webapp import (
    create_app,  # noqa: E402
    demo,  # noqa: E402
)
from webapp.db import make_engine  # noqa: E402
from webapp.models import metadata  # noqa: E402

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
    """Empty every table, fast, between tests. On PostgreSQL the TRUNCATE takes every table's
    exclusive lock, table by table: a browser test's server still reading (its in-process
    schedule) can deadlock with it, and PostgreSQL then ends one of the two; the wipe tries
    again (seen once in a browser run: "deadlock detected" in this fixture)."""
    tables = [t.name for t in metadata.sorted_tables]
    for attempt in range(3):
        try:
            with engine.begin() as conn:
                if engine.dialect.name == "postgresql":
                    quoted = ", ".join(f'"{t}"' for t in tables)
                    conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
                else:
                    for table in reversed(tables):
                        conn.execute(text(f'DELETE FROM "{table}"'))
            return
        except OperationalError as exc:
            if attempt == 2 or "deadlock detected" not in str(exc):
                raise


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
    return app


@pytest.fixture
def seeded(app):
    """The demo data, as `make run` loads it."""
    from webapp.db import db

    with app.app_context():
        result = demo.seed_demo(db.session, now=FIXED_NOW)
        db.session.commit()
    return result


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
