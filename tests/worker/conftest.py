"""Worker tests: the real Redis (db 13), a real `rq worker` process, an aiosmtpd sink, and a
PostgreSQL database the worker process and the test share."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.engine import Engine

from tests.conftest import (
    create_postgres_database,
    drop_postgres_database,
    postgres_url,
    wipe,
)
from tests.mail_sink import MailSink
from webapp import create_app
from webapp.db import make_engine
from webapp.models import metadata

REPO = Path(__file__).resolve().parents[2]
RQ = Path(sys.executable).parent / "rq"
WORKER_REDIS_URL = os.environ.get("TEST_WORKER_REDIS_URL", "redis://127.0.0.1:6379/13")
LOCK_FILE = "/tmp/portal-worker-tests-redis.lock"
LEASE_SECONDS = 12  # long enough to see the sweep leave a live lease alone

pytestmark = pytest.mark.worker


@pytest.fixture(scope="module")
def shared_database() -> Iterator[Engine]:
    name = create_postgres_database("portal_worker")
    engine = make_engine(postgres_url(name))
    metadata.create_all(engine)
    yield engine
    engine.dispose()
    drop_postgres_database(name)


@pytest.fixture
def database(shared_database) -> Engine:
    wipe(shared_database)
    return shared_database


@pytest.fixture
def redis_conn() -> Iterator[Redis]:
    """The worker tests' Redis db, emptied; parallel test runs take turns (a file lock)."""
    conn = Redis.from_url(WORKER_REDIS_URL, socket_connect_timeout=2)
    try:
        conn.ping()
    except RedisError as exc:
        pytest.fail(f"Redis is required at {WORKER_REDIS_URL} and is not reachable: {exc}",
                    pytrace=False)
    with open(LOCK_FILE, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        conn.flushdb()
        yield conn
        conn.flushdb()
    conn.close()


@pytest.fixture
def sink() -> Iterator[MailSink]:
    sink = MailSink().start()
    yield sink
    sink.stop()


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def worker_env(database, sink, redis_conn, tmp_path) -> dict[str, str]:
    """The environment a worker process reads its settings from (worker/runtime.py)."""
    return {**os.environ, "DATABASE_URL": _url(database), "REDIS_URL": WORKER_REDIS_URL,
            "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(sink.port),
            "SECRET_KEY": "worker-test-secret", "BASE_URL": "http://portal.test",
            "OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS), "PORTAL_INSTANCE_PATH": str(tmp_path)}


def make_app(worker_env: dict[str, str], *, redis_url: str | None = None):
    """The web app as production runs it beside the worker (real clock, RQ dispatch)."""
    return create_app({
        "TESTING": True, "DATABASE_URL": worker_env["DATABASE_URL"],
        "REDIS_URL": redis_url or worker_env["REDIS_URL"],
        "SECRET_KEY": worker_env["SECRET_KEY"], "BASE_URL": worker_env["BASE_URL"],
        "SMTP_HOST": worker_env["SMTP_HOST"], "SMTP_PORT": int(worker_env["SMTP_PORT"]),
        "LOGIN_RATE_LIMIT": "1000 per minute",
    })


def run_worker(worker_env: dict[str, str],
               queues: tuple[str, ...] = ("default", "mail")) -> subprocess.CompletedProcess:
    """One `rq worker --burst` process: it runs what is queued, then exits."""
    done = subprocess.run([str(RQ), "worker", "--burst", "--worker-class",
                           "worker.rqworker.PortalWorker", "-u", WORKER_REDIS_URL, *queues],
                          cwd=REPO, env=worker_env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"rq worker failed:\n{done.stdout}\n{done.stderr}"
    return done
