"""Does "Forgot password?" answer a known address slower than an unknown one?
python -m bench.enumeration [--requests N] [--db postgresql|sqlite] [--no-redis]

Serves the demo under gunicorn as production runs it (PostgreSQL and RQ by default; a fresh
database of its own, Redis db 11), then posts the forgot-password form N times for a known
address and N times for an unknown one, interleaved, and prints both distributions of the
server's answer time in ms. Nothing is asserted: read the two rows side by side.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime

from redis import Redis
from sqlalchemy import text
from sqlmodel import Session

from bench.database import CACHE
from bench.server import CSRF, USER_AGENT, gunicorn_serving
from webapp import demo
from webapp.db import make_engine
from webapp.models import metadata

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench_enumeration"
REDIS_URL = "redis://127.0.0.1:6379/11"


def _fresh_database(db: str) -> str:
    if db == "sqlite":
        path = CACHE / "enumeration.db"
        path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        admin = make_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text('DROP DATABASE IF EXISTS "portal_bench_enumeration" WITH (FORCE)'))
            conn.execute(text('CREATE DATABASE "portal_bench_enumeration"'))
        admin.dispose()
        url = PG_URL
    engine = make_engine(url)
    metadata.create_all(engine)
    with Session(engine) as session:
        demo.seed_demo(session, now=datetime.now(UTC))
        session.commit()
    engine.dispose()
    return url


def _timed_posts(base: str, emails: list[str]) -> dict[str, list[float]]:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    opener.addheaders = [("User-Agent", USER_AGENT)]
    page = opener.open(f"{base}/password/forgot").read().decode()
    token = CSRF.search(page).group(1)
    times: dict[str, list[float]] = {email: [] for email in set(emails)}
    for email in emails:
        body = urllib.parse.urlencode({"email": email, "csrf_token": token}).encode()
        started = time.perf_counter()
        with opener.open(f"{base}/password/forgot", data=body) as response:
            response.read()
        times[email].append((time.perf_counter() - started) * 1000)
    return times


def _row(label: str, values: list[float]) -> str:
    q = statistics.quantiles(values, n=20)
    return (f"| {label} | {len(values)} | {min(values):.2f} | {q[4]:.2f} | "
            f"{statistics.median(values):.2f} | {q[14]:.2f} | {q[18]:.2f} | {max(values):.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.enumeration")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--no-redis", action="store_true",
                        help="the embedded default: no RQ, the schedule sends the mail")
    args = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    url = _fresh_database(args.db)
    env = {"DATABASE_URL": url, "LOGIN_RATE_LIMIT": "100000 per minute"}
    if not args.no_redis:
        Redis.from_url(REDIS_URL).flushdb()
        env["REDIS_URL"] = REDIS_URL
    with gunicorn_serving("gunicorn-enumeration", env) as base:
        known, unknown = demo.JANE[0], "nobody-at-all@example.com"
        _timed_posts(base, [known, unknown] * 10)  # warm both workers
        times = _timed_posts(base, [known, unknown] * args.requests)
    if not args.no_redis:
        Redis.from_url(REDIS_URL).flushdb()
    mode = f"{args.db}, {'embedded schedule' if args.no_redis else 'RQ'}"
    print(f"POST /password/forgot, ms per answer ({mode}, {os.cpu_count()} cores)\n")
    print("| address | n | min | p25 | median | p75 | p95 | max |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|")
    print(_row("known (jane@example.com)", times[known]))
    print(_row("unknown", times[unknown]))


if __name__ == "__main__":
    main()
