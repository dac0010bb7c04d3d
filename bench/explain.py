"""EXPLAIN for the list queries, as the services issue them for the bench customer.

python -m bench.explain [--db sqlite|postgresql|both] [--customers N]

Each service runs once against the cached bench database while its statements are captured;
each captured statement is then explained with its own parameters (EXPLAIN QUERY PLAN on
SQLite, EXPLAIN ANALYZE on PostgreSQL), so what is shown is exactly what a page runs.
"""

from __future__ import annotations

import argparse
import re
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import event
from sqlmodel import Session, select

from bench import database
from webapp.db import make_engine
from webapp.demo import scale
from webapp.models import Organization, User
from webapp.services.admin import lists, metrics
from webapp.services.billing import invoices
from webapp.services.core.dates import Moment
from webapp.services.home import overview
from webapp.services.payments import history
from webapp.services.subscriptions import views


@contextmanager
def captured(engine):
    statements = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


def service_calls(session: Session, customer_id: int, at: Moment, tax_rate_bp):
    """(label, call) for every list query a bench page makes."""
    deep = invoices.InvoiceFilters(page=18)
    return [
        ("list_invoices, page 1", lambda: invoices.list_invoices(
            session, customer_id=customer_id, filters=invoices.InvoiceFilters(), at=at)),
        ("list_invoices, deep page 18", lambda: invoices.list_invoices(
            session, customer_id=customer_id, filters=deep, at=at)),
        ("list_invoices, status=paid", lambda: invoices.list_invoices(
            session, customer_id=customer_id, filters=invoices.InvoiceFilters(status="paid"),
            at=at)),
        ("list_subscriptions", lambda: views.list_subscriptions(
            session, customer_id=customer_id, filters=views.SubscriptionFilters())),
        ("list_payments", lambda: history.list_payments(
            session, customer_id=customer_id, filters=history.PaymentFilters())),
        ("outstanding", lambda: invoices.outstanding(session, customer_id=customer_id,
                                                     at=at)),
        ("dashboard", lambda: overview.dashboard(session, customer_id=customer_id, at=at)),
        # The back office over every customer (issue 31).
        ("admin home", lambda: metrics.home_figures(
            session, at=at, window=metrics.read_window({}, at.today)[0])),
        ("admin list_subscriptions", lambda: lists.list_subscriptions(
            session, filters=lists.AdminSubscriptionFilters())),
        ("admin list_invoices, overdue", lambda: lists.list_invoices(
            session, filters=lists.AdminInvoiceFilters(status="overdue"), at=at)),
        ("admin list_payments", lambda: lists.list_payments(
            session, filters=lists.AdminPaymentFilters())),
    ]


def _short(statement: str) -> str:
    """The statement on one line, each long column list (a subquery's too) folded to an ellipsis."""
    flat = " ".join(statement.split())
    return re.sub(r"SELECT (.*?) FROM ",
                  lambda m: m.group(0) if len(m.group(1)) <= 60 else "SELECT … FROM ", flat)


def explain(b: database.Backend) -> str:
    engine = make_engine(b.url)
    out = [f"## {b.name}\n"]
    with Session(engine) as session:
        org = session.get(Organization, 1)
        customer_id = session.exec(select(User.customer_id).where(
            User.email == scale.BENCH_EMAIL)).one()
        at = Moment.at(datetime.now(UTC), org.timezone)
        # The day's first admin home view takes the retention cohort (writes, once a day):
        # explain what every later view runs.
        metrics.home_figures(session, at=at, window=metrics.read_window({}, at.today)[0])
        session.commit()
        for label, call in service_calls(session, customer_id, at, org.tax_rate_bp):
            with captured(engine) as statements:
                call()
            out.append(f"### {label}\n")
            for statement, parameters in statements:
                prefix = "EXPLAIN QUERY PLAN " if b.name == "sqlite" else "EXPLAIN ANALYZE "
                plan = session.connection().exec_driver_sql(prefix + statement, parameters).all()
                lines = [row[-1] if b.name == "sqlite" else row[0] for row in plan]
                out.append("```\n" + _short(statement) + "\n--\n" + "\n".join(lines) + "\n```\n")
    engine.dispose()
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.explain")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--customers", type=int, default=10_000)
    args = parser.parse_args()
    for name in ("postgresql", "sqlite") if args.db == "both" else (args.db,):
        print(explain(database.backend(name, args.customers)))


if __name__ == "__main__":
    main()
