"""What a request spends on PostgreSQL outside its own statements: python -m bench.round_trips
[--repeat N]

A signed-in GET runs the login statement and its page's statements; around them the engine
adds the pool's pre-ping (`SELECT 1` when a connection is checked out), BEGIN (psycopg opens
a transaction before the first statement) and the ROLLBACK that returns the connection to the
pool. This runs one cheap statement (the floor table's) as a request would, N times, in each
way the engine could be set up, and prints wall and client CPU microseconds per request and
the round trips each way makes (issue 32, bench/README.md):

- pre-ping (before issue 32): BEGIN, `SELECT 1` (the ping opens the transaction the
  request then uses), statement, ROLLBACK: three round trips besides the statement;
- the socket check (now, webapp/db.py `_discard_if_ended`): BEGIN, statement, ROLLBACK: two;
- pre-ping and autocommit: `SELECT 1`, statement (no transaction: nothing to roll back): one;
- the socket check and autocommit: the statement alone.

Run `python -m bench --db postgresql` (or `python -m bench.cpu --db postgresql`) first so
the bench database exists.
"""

from __future__ import annotations

import argparse
import time

from sqlalchemy import text

from bench import database
from webapp.db import make_engine

STATEMENT = text("SELECT number, issue_date, due_date, status, currency, total, amount_paid "
                 "FROM invoice ORDER BY id DESC LIMIT 25")
WAYS = (("pre-ping, BEGIN, ROLLBACK (before)", True, False),
        ("socket check, BEGIN, ROLLBACK (now)", False, False),
        ("pre-ping, autocommit", True, True),
        ("socket check, autocommit", False, True))


def _per_request(url: str, pre_ping: bool, autocommit: bool, repeat: int) -> tuple[float, float]:
    options = {"isolation_level": "AUTOCOMMIT"} if autocommit else {}
    engine = make_engine(url, generic_plans=True, pool_pre_ping=pre_ping, **options)
    try:
        for _ in range(50):  # warm: connect, prepare the statement
            with engine.connect() as conn:
                conn.execute(STATEMENT).all()
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(repeat):
            with engine.connect() as conn:
                conn.execute(STATEMENT).all()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return wall / repeat * 1e6, cpu / repeat * 1e6
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.round_trips", description=__doc__)
    parser.add_argument("--repeat", type=int, default=5000)
    parser.add_argument("--customers", type=int, default=10_000)
    args = parser.parse_args()
    url = database.backend("postgresql", args.customers).url
    print(f"{'engine set-up':<36} {'wall µs':>9} {'client CPU µs':>14}")
    for label, pre_ping, autocommit in WAYS:
        wall, cpu = _per_request(url, pre_ping, autocommit, args.repeat)
        print(f"{label:<36} {wall:>9.0f} {cpu:>14.0f}", flush=True)


if __name__ == "__main__":
    main()
