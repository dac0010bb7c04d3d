"""The seeded databases, built once per backend and reused while they still fit the models."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import Engine, make_url

from webapp.db import make_engine
from webapp.demo import scale as demo_scale
from webapp.models import Customer, User, metadata

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
PG_URL = os.environ.get("BENCH_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench")
DEMO_CUSTOMERS = 2  # Jane and Omar


@dataclass(frozen=True)
class Backend:
    name: str  # sqlite | postgresql
    url: str


def backend(name: str, customers: int) -> Backend:
    if name == "sqlite":
        return Backend(name, f"sqlite:///{CACHE / f'portal-{customers}.db'}")
    return Backend(name, PG_URL)


def _upgrade(engine: Engine) -> list[str] | None:
    """Bring a cached database up to the models without reseeding: new tables, new columns
    (nullable, or with a plain default), new indexes, stale ones dropped. None when a column
    cannot be added that way (then the cache is rebuilt)."""
    changes = []
    with engine.begin() as conn:
        inspector = inspect(conn)
        tables = set(inspector.get_table_names())
        metadata.create_all(conn, tables=[t for t in metadata.sorted_tables if t.name not in tables])
        changes += [f"table {t.name}" for t in metadata.sorted_tables if t.name not in tables]
        for table in metadata.sorted_tables:
            if table.name not in tables:
                continue
            have = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in have:
                    continue
                ddl = _add_column(conn, table, column)
                if ddl is None:
                    return None
                conn.execute(text(ddl))
                changes.append(f"column {table.name}.{column.name}")
            indexes = {i["name"] for i in inspector.get_indexes(table.name)}
            wanted = {index.name for index in table.indexes}
            for index in table.indexes:
                if index.name not in indexes:
                    index.create(conn)
                    changes.append(f"index {index.name}")
            for name in indexes - wanted:
                if name.startswith("ix_"):
                    conn.execute(text(f'DROP INDEX "{name}"'))
                    changes.append(f"dropped index {name}")
        if changes:
            conn.execute(text("ANALYZE"))
    return changes


def _add_column(conn, table, column) -> str | None:
    spec = f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" ' \
        f"{column.type.compile(dialect=conn.dialect)}"
    if column.nullable:
        return spec
    default = column.default.arg if column.default is not None and column.default.is_scalar \
        else None
    if isinstance(default, bool):
        default = int(default) if conn.dialect.name == "sqlite" else default
    if isinstance(default, (int, str)):
        literal = f"'{default}'" if isinstance(default, str) else str(default).lower()
        return f"{spec} NOT NULL DEFAULT {literal}"
    return None


def _seeded(engine: Engine, customers: int) -> bool:
    with engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(Customer)).scalar()
        bench = conn.execute(select(User.id).where(User.email == demo_scale.BENCH_EMAIL)).first()
    return bench is not None and count >= customers + DEMO_CUSTOMERS + 1


def _recreate(b: Backend) -> None:
    if b.name == "sqlite":
        CACHE.mkdir(parents=True, exist_ok=True)
        path = Path(make_url(b.url).database)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        url = make_url(b.url)
        admin = make_engine(url.set(database="postgres").render_as_string(hide_password=False),
                            isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
        admin.dispose()
    engine = make_engine(b.url)
    metadata.create_all(engine)
    engine.dispose()


def _postgres_exists(b: Backend) -> bool:
    url = make_url(b.url)
    admin = make_engine(url.set(database="postgres").render_as_string(hide_password=False))
    with admin.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                             {"name": url.database}).first()
    admin.dispose()
    return found is not None


def prepare(b: Backend, customers: int, *, reseed: bool = False) -> None:
    """Reuse the cached, seeded database, or build it: schema, demo data, `customers` more."""
    exists = Path(make_url(b.url).database).exists() if b.name == "sqlite" else _postgres_exists(b)
    if exists and not reseed:
        engine = make_engine(b.url)
        try:
            changes = _upgrade(engine) if _seeded(engine, customers) else None
        finally:
            engine.dispose()
        if changes is not None:
            print(f"[{b.name}] reusing the seeded cache"
                  + (f"; brought up to the models: {', '.join(changes)}" if changes else ""))
            if {"table mrr_movement", "table mrr_month"} & set(changes):  # an older cache
                subprocess.run([sys.executable, "-m", "flask", "--app", "webapp", "backfill-mrr"],
                               cwd=ROOT, env={**os.environ, "DATABASE_URL": b.url,
                                              "SECRET_KEY": "bench-secret-key"}, check=True)
            _age_forwards(b)
            _vacuum(b)
            return
        print(f"[{b.name}] the cache is incomplete or cannot follow the models; reseeding")
    _recreate(b)
    print(f"[{b.name}] seeding {customers} customers (once; the database is kept)")
    started = time.monotonic()
    env = {**os.environ, "DATABASE_URL": b.url, "SECRET_KEY": "bench-secret-key"}
    subprocess.run([sys.executable, "-m", "flask", "--app", "webapp", "seed-demo",
                    "--scale", str(customers)], cwd=ROOT, env=env, check=True)
    print(f"[{b.name}] seeded in {time.monotonic() - started:.0f} s")
    _vacuum(b)


def _age_forwards(b: Backend) -> None:
    """Each run forwards an invoice per signed-in customer, and a customer may forward to so
    many recipients an hour: an earlier run's forwards are moved two hours back, so a run
    within the hour is not refused (422) by the limit."""
    engine = make_engine(b.url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE document_forward_recipient SET created_at = :before "
                          "WHERE created_at > :before"),
                     {"before": datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=2)})
    engine.dispose()


def _vacuum(b: Backend) -> None:
    """PostgreSQL: after a bulk load, VACUUM sets the visibility map, so the list counts are
    index-only scans from the first request (autovacuum would get there later)."""
    if b.name != "postgresql":
        return
    engine = make_engine(b.url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        done = conn.execute(text("SELECT coalesce(last_vacuum, last_autovacuum) FROM "
                                 "pg_stat_user_tables WHERE relname = 'invoice'")).scalar()
        if done is None:
            print(f"[{b.name}] VACUUM ANALYZE after the bulk load")
            conn.execute(text("VACUUM (ANALYZE)"))
    engine.dispose()
