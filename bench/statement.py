"""What one statement costs on PostgreSQL, planned afresh or with a kept plan:
python -m bench.statement [--repeat N]

The bench database's newest forward-status statement (the polled htmx fragment's one
statement), the floor table's statement and `SELECT 1`, each run N times on one connection
through the session as a page runs them, once with `plan_cache_mode=force_custom_plan` (what
jobs use) and once with PostgreSQL's default (what the web app's engine uses). It prints wall
and client CPU milliseconds per execution; run `python -m bench --db postgresql` first so the
database and a forward exist.
"""

from __future__ import annotations

import argparse
import time

from sqlalchemy import text
from sqlmodel import Session

from bench import database
from webapp.db import make_engine
from webapp.services.core.listing import read
from webapp.services.documents import forwarding

FLOOR_SQL = text("SELECT number, issue_date, due_date, status, currency, total, amount_paid "
                 "FROM invoice ORDER BY id DESC LIMIT 25")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.statement")
    parser.add_argument("--repeat", type=int, default=500)
    args = parser.parse_args()
    url = database.backend("postgresql", 10_000).url
    print("| statement | plans | wall ms | client CPU ms |\n|---|---|---:|---:|")
    for generic in (False, True):
        engine = make_engine(url, generic_plans=generic)
        with Session(engine) as session:
            found = session.connection().execute(text(
                "SELECT id, customer_id FROM document_forward ORDER BY id DESC LIMIT 1")).first()
            if found is None:
                raise SystemExit("no forward in the bench database; run python -m bench first")
            params = {"forward_id": found.id, "customer_id": found.customer_id}
            runs = [("forward status", forwarding.STATUS_STATEMENT, params), ("floor table", FLOOR_SQL, {}),
                    ("SELECT 1", text("SELECT 1"), {})]
            for label, statement, values in runs:
                def run(statement=statement, values=values):
                    return read(session, statement, values).all()

                for _ in range(20):  # past psycopg's prepare threshold and PostgreSQL's five
                    run()
                wall, cpu = time.perf_counter(), time.process_time()
                for _ in range(args.repeat):
                    run()
                wall = (time.perf_counter() - wall) / args.repeat * 1000
                cpu = (time.process_time() - cpu) / args.repeat * 1000
                kind = "kept (web app)" if generic else "afresh (jobs)"
                print(f"| {label} | {kind} | {wall:.3f} | {cpu:.3f} |")
        engine.dispose()


if __name__ == "__main__":
    main()
