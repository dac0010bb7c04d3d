"""python -m bench.tick [--subscriptions N] [--db sqlite|postgresql] [--workers K]

Times one full lifecycle tick over N monthly subscriptions that all renew at the same instant
(auto-charge on, a succeeding test card): invoices, lines, pending payments, then the charge
jobs. In-process on the embedded default (SQLite), or with K RQ workers on PostgreSQL + Redis.
Prints a table; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta

from redis import Redis
from rq import Queue, Worker
from sqlalchemy import func, insert, text
from sqlmodel import Session, select

from webapp import demo
from webapp.db import make_engine, write_intent
from webapp.models import (
    Customer,
    Invoice,
    OutboxMessage,
    Payment,
    PaymentMethod,
    Plan,
    PlanPrice,
    Subscription,
    metadata,
)
from webapp.services.billing import charges
from webapp.services.subscriptions import lifecycle

DUE = date(2027, 3, 1)
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
CACHE = os.path.join(os.path.dirname(__file__), ".cache")


def seed(engine, n: int, *, now: datetime = NOW) -> None:
    """n customers, each with a saved card and one live subscription renewing on `now`'s date
    (DUE by default)."""
    due = now.date()
    metadata.drop_all(engine)
    metadata.create_all(engine)
    with write_intent(), Session(engine) as s:
        demo.seed_organization(s, now=now - timedelta(days=40))
        plan = Plan(code="bench", name="Bench", created_at=now)
        s.add(plan)
        s.flush()
        s.add(PlanPrice(plan_id=plan.id, currency="USD", amount=2500))
        s.commit()
        for start in range(0, n, 5000):
            count = min(5000, n - start)
            ids = range(start + 1, start + count + 1)
            s.execute(insert(Customer), [{"id": i, "display_name": f"C{i}", "email": f"c{i}@x.test",
                                          "currency": "USD", "created_at": now} for i in ids])
            s.execute(insert(PaymentMethod), [{"id": i, "customer_id": i, "brand": "Visa",
                                               "gateway_token": f"tok_test_ok_{i:016x}",
                                               "last4": "4242", "exp_month": 12, "exp_year": 2030,
                                               "is_default": True, "created_at": now} for i in ids])
            s.execute(insert(Subscription), [{
                "id": i, "number": f"SUB-B{i:07d}", "customer_id": i, "plan_id": plan.id,
                "currency": "USD", "status": "live", "start_date": due - timedelta(days=28),
                "anchor_day": due.day, "current_term_start": due - timedelta(days=28),
                "current_term_end": due, "next_billing_date": due, "autocharge": True,
                "payment_method_id": i, "cycles_billed": 1, "created_at": now,
                "updated_at": now} for i in ids])
            s.commit()
        if engine.dialect.name == "postgresql":
            for table in ("customer", "payment_method", "subscription"):
                s.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"(SELECT max(id) FROM {table}))"))
            s.commit()
    # Planner statistics, as a database in service has them (autovacuum): without them
    # PostgreSQL guesses that the due-date index finds one row and prefers it to the
    # primary key for the per-row guarded updates, scanning every due row for each.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


def tick_in_process(engine) -> tuple[float, float]:
    """The tick's batches, each followed by its charge jobs: what the embedded cron does."""
    from contextlib import contextmanager

    from webapp.services.billing.gateway import TestGateway
    from worker.jobs import CHARGE_CHUNK

    @contextmanager
    def unit():
        with write_intent(), Session(engine, expire_on_commit=False) as s:
            yield s
            s.commit()

    gateway = TestGateway(engine)
    started = time.perf_counter()
    billing = 0.0
    while True:
        t = time.perf_counter()
        with write_intent(), Session(engine, expire_on_commit=False) as s:
            result = lifecycle.tick(s, now=NOW)
            s.commit()
        billing += time.perf_counter() - t
        ids = result.payment_ids
        for start in range(0, len(ids), CHARGE_CHUNK):
            charges.run_many(unit, gateway, payment_ids=ids[start:start + CHARGE_CHUNK], now=NOW)
        if not result.more:
            break
    return billing, time.perf_counter() - started


def _pending(engine) -> bool:
    """Whether any payment is still pending (a cheap probe: the bench polls it)."""
    with Session(engine) as s:
        return s.exec(select(Payment.id).where(Payment.status == "pending").limit(1)).first() \
            is not None


def _due(engine, due: date) -> bool:
    """Whether any subscription is still due (a cheap probe: the bench polls it)."""
    with Session(engine) as s:
        return s.exec(select(Subscription.id).where(
            Subscription.status == "live", Subscription.next_billing_date <= due).limit(1)
        ).first() is not None


def tick_with_workers(url: str, workers: int, due: date, *,
                      queues: tuple[str, ...] = ("default", "mail")) -> tuple[float, float]:
    """K `rq worker`s run (the portal's worker class, as long-running workers in service
    are: the app loaded); the tick is enqueued as the cron enqueues it, runs in one worker
    and queues a helper for the other, and charge jobs after each batch commits. Billed when
    no subscription is still due; done when no payment is pending either."""
    redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
    redis = Redis.from_url(redis_url)
    redis.flushdb()
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "SECRET_KEY": "bench"}
    procs = [subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "rq"), "worker",
                               "--worker-class", "worker.rqworker.PortalSimpleWorker",
                               "-u", redis_url, "-q", *queues],
                              env=env, stdout=subprocess.DEVNULL) for _ in range(workers)]
    engine = make_engine(url)
    try:
        while len(Worker.all(connection=redis)) < workers:  # up, the app loaded
            time.sleep(0.2)
        started = time.perf_counter()
        Queue("default", connection=redis).enqueue("worker.jobs.lifecycle_tick",
                                                   job_timeout=1800)
        billed = None
        while billed is None or _pending(engine):
            time.sleep(0.5)
            if billed is None and not _due(engine, due):
                billed = time.perf_counter()
        return billed - started, time.perf_counter() - started
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait()
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--queues", nargs="+", default=["default", "mail"],
                        help="the queues the workers take (default: as the Procfile's)")
    args = parser.parse_args()
    os.makedirs(CACHE, exist_ok=True)
    url = (f"sqlite:///{CACHE}/tick.db" if args.db == "sqlite"
           else os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench_tick"))
    if args.db == "sqlite":  # a fresh file: dropping big tables in place is slow
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(f"{CACHE}/tick.db{suffix}"):
                os.remove(f"{CACHE}/tick.db{suffix}")
    if args.db == "postgresql":
        admin = make_engine("postgresql+psycopg://postgres@127.0.0.1:5432/test", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS portal_bench_tick WITH (FORCE)"))
            conn.execute(text("CREATE DATABASE portal_bench_tick"))
        admin.dispose()
    engine = make_engine(url)
    # In-process the tick is given NOW; workers read the clock, so their subscriptions fell
    # due yesterday (due today wherever the organization is).
    now = NOW if args.db == "sqlite" else datetime.now(UTC).replace(microsecond=0) - timedelta(
        days=1)
    t0 = time.perf_counter()
    seed(engine, args.subscriptions, now=now)
    seeded = time.perf_counter() - t0
    cpu_before, server_before = _python_cpu(), _server_cpu()
    if args.db == "sqlite":
        billed, total = tick_in_process(engine)
        mode = "in-process (embedded default)"
    else:
        engine.dispose()
        billed, total = tick_with_workers(url, args.workers, now.date(), queues=args.queues)
        mode = f"{args.workers} RQ workers ({' '.join(args.queues)})"
    python_cpu = _python_cpu() - cpu_before
    server_cpu = (_server_cpu() - server_before) if args.db == "postgresql" else None
    with Session(engine) as s:
        invoices = s.exec(select(func.count()).select_from(Invoice)).one()
        paid = s.exec(select(func.count()).select_from(Payment).where(Payment.status == "succeeded")).one()
        mails = s.exec(select(func.count()).select_from(OutboxMessage)).one()
    n = args.subscriptions
    print("| db | mode | subscriptions | seed s | billing s | billed + charged s | subs/s "
          "| Python CPU s | server CPU s | invoices | paid | outbox rows | target (100k < 60 s) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    verdict = "met" if n / total >= 100_000 / 60 else "missed"
    server = "" if server_cpu is None else f"{server_cpu:.1f}"
    print(f"| {args.db} | {mode} | {n} | {seeded:.1f} | {billed:.1f} | {total:.1f} | "
          f"{n / total:.0f} | {python_cpu:.1f} | {server} | {invoices} | {paid} | {mails} "
          f"| {verdict} |")


def _python_cpu() -> float:
    """CPU seconds of this process and of the children it has waited for (tick, workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _server_cpu() -> float:
    """CPU seconds of the PostgreSQL server on this host (Linux /proc): the live processes,
    and through the postmaster's children's times the backends that have exited. Includes
    whatever else the server does meanwhile, so run on a quiet machine."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                name, fields = f.read().rsplit(")", 1)
        except OSError:
            continue
        if not name.split("(", 1)[1].startswith("postgres"):
            continue
        values = fields.split()
        total += int(values[11]) + int(values[12])  # utime, stime
        if _command(values[1]) != "postgres":  # the postmaster: its reaped children too
            total += int(values[13]) + int(values[14])  # cutime, cstime
    return total / os.sysconf("SC_CLK_TCK")


def _command(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


if __name__ == "__main__":
    main()
