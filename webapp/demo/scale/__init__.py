"""Demo data at scale: thousands of customers with years of billing history, in minutes.

`seed_scale` builds each batch of customers as plain dicts (history.py decides what happens
to a customer, rows.py turns it into rows and settles the ledger) and writes them with
Core bulk inserts (`session.execute(insert(table), rows)`), one batch at a time; it is a
generator and the caller commits after every batch it yields, so numbers and rows of a batch
land together. Ids are reserved up front (a PostgreSQL sequence block, or max(id) on SQLite,
whose write lock the batch already holds), so children can point at parents without a
round trip per row (on SQLite run it under `db.write_intent()`, as the seed-demo command
does, so each batch begins holding the write lock). Document numbers come from `numbering.take` in blocks, handed out in
date order inside each batch, so they stay unique and gap-free.

The data obeys the ledger: an invoice total is Σ(line amount + line tax) at the
organization's tax rate, amount_paid is Σ allocations, credits_applied is Σ credit
applications, and an invoice that is not void is paid exactly when its balance is 0.
Deterministic for a given seed, starting database and `now`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select, text, update
from sqlmodel import Session

from webapp.demo import billing as demo_billing
from webapp.demo.scale.history import CustomerSpec, add_customer
from webapp.demo.scale.rows import TABLES, Batch, Catalog, fill_defaults
from webapp.models import Coupon, Organization, User
from webapp.services.accounts.auth import hash_password
from webapp.services.core import numbering
from webapp.services.core.dates import today_in

PASSWORD = "portal-bench-1"  # every login the scale seed makes shares it
BENCH_EMAIL = "bench@example.com"  # the long-history customer the bench logs in as
BENCH_INVOICES = 600
EMAIL_DOMAIN = "scale.example"
INSERT_CHUNK = 5_000

__all__ = ["PASSWORD", "BENCH_EMAIL", "ScaleProgress", "seed_scale", "analyze"]


@dataclass(frozen=True)
class ScaleProgress:
    """Running totals of what this run has written so far."""

    customers: int
    subscriptions: int
    invoices: int
    lines: int
    payments: int
    credit_notes: int


class _Ids:
    """Primary keys handed out before insert, so children can reference parents at once."""

    def __init__(self, session: Session, table) -> None:
        self.session, self.table = session, table
        self.postgres = session.get_bind().dialect.name == "postgresql"
        self.pool: list[int] = []
        self.next_value = 0

    def start_batch(self) -> None:
        """SQLite: resume after the largest id (the batch's transaction holds the write lock)."""
        if not self.postgres:
            largest = self.session.execute(select(func.max(self.table.c.id))).scalar() or 0
            self.next_value = max(self.next_value, largest + 1)

    def take(self) -> int:
        if not self.postgres:
            self.next_value += 1
            return self.next_value - 1
        if not self.pool:
            # Values come from the table's own sequence, so later inserts never collide.
            rows = self.session.execute(
                text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                     "FROM generate_series(1, 10000)"), {"table": self.table.name})
            self.pool = sorted((r[0] for r in rows), reverse=True)
        return self.pool.pop()


def seed_scale(session: Session, *, customers: int, now: datetime, seed: int = 1,
               password_hash: str | None = None, batch_size: int = 250,
               long_history: int = BENCH_INVOICES) -> Iterator[ScaleProgress]:
    """Add `customers` customers with ~100 invoices each (plus, once, the bench's customer
    with about `long_history` invoices); yields after each batch, and the caller commits."""
    org = session.get(Organization, 1)
    if org is None:
        raise ValueError("load the demo organization first (seed-demo)")
    demo_billing.seed_catalog(session, now=now)
    catalog = Catalog.load(session)
    password_hash = password_hash or hash_password(PASSWORD)
    today = today_in(org.timezone, now)
    rng = random.Random(seed)
    ids = {name: _Ids(session, TABLES[name]) for name in ("customer", "payment_method",
                                                          "subscription", "invoice",
                                                          "credit_note", "payment")}
    specs = [CustomerSpec(None, rng.randint(80, 120)) for _ in range(customers)]
    if session.execute(select(User.id).where(User.email == BENCH_EMAIL)).first() is None:
        specs.insert(0, CustomerSpec(BENCH_EMAIL, long_history))
    totals = dict.fromkeys(("customer", "subscription", "invoice", "invoice_line", "payment",
                            "credit_note"), 0)
    for start in range(0, len(specs), batch_size):
        for block in ids.values():
            block.start_batch()
        batch = Batch(catalog=catalog, today=today, now=now, tax_rate_bp=org.tax_rate_bp,
                      password_hash=password_hash, email_domain=EMAIL_DOMAIN,
                      take_id=lambda name: ids[name].take())
        for spec in specs[start:start + batch_size]:
            add_customer(batch, rng, spec)
        _number(session, batch)
        _write(session, batch)
        for name in totals:
            totals[name] += batch.count(name)
        yield ScaleProgress(totals["customer"], totals["subscription"], totals["invoice"],
                            totals["invoice_line"], totals["payment"], totals["credit_note"])


def _number(session: Session, batch: Batch) -> None:
    """Gap-free numbers in blocks, handed out in date order within the batch."""
    for series, table, key in (("subscription", "subscription", "start_date"),
                               ("invoice", "invoice", "issue_date"),
                               ("credit_note", "credit_note", "issue_date"),
                               ("payment", "payment", "paid_on")):
        rows = [row for row in batch.rows[table] if row.get("status") != "failed"]
        if not rows:
            continue
        rows.sort(key=lambda row, key=key: (row[key], row["id"]))
        for row, number in zip(rows, numbering.take(session, series, len(rows)), strict=True):
            row["number"] = number


def _write(session: Session, batch: Batch) -> None:
    """Core bulk inserts, parents before children, in chunks."""
    for name, table in TABLES.items():
        rows = batch.rows[name]
        if rows:
            fill_defaults(name, rows)
        for offset in range(0, len(rows), INSERT_CHUNK):
            session.execute(insert(table), rows[offset:offset + INSERT_CHUNK])
    for coupon_id, count in batch.redemptions.items():
        session.execute(update(Coupon).where(Coupon.id == coupon_id)
                        .values(redemptions=Coupon.redemptions + count))


def analyze(session: Session) -> None:
    """Refresh the planner's statistics after a bulk load (both backends know ANALYZE)."""
    session.execute(text("ANALYZE"))
