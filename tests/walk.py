"""Clock walks, Kill Bill style: step the clock day by day, run the tick, settle charges.

No sleeping: `now` is passed to the services, and charges run through the real charge service
and test gateway, each step in its own committed transaction as the jobs do.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import Session, select

from webapp.db import write_intent
from webapp.demo import seed_organization
from webapp.models import (
    CreditApplication,
    Customer,
    Invoice,
    OutboxMessage,
    Payment,
    PaymentAllocation,
    PaymentMethod,
)
from webapp.services.billing import charges, ledger
from webapp.services.billing.gateway import CardDetails, TestGateway
from webapp.services.subscriptions import lifecycle
from worker.jobs import MAX_BATCHES_PER_RUN

GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"


class Walk:
    """A clock and a database; `step()` moves one day and runs what the scheduler would."""

    def __init__(self, engine, start: date, *, hour_local: int = 1, timezone: str = "Europe/London"):
        self.engine = engine
        self.gateway = TestGateway(engine)
        self.day = start
        self.hour_local = hour_local
        self.timezone = timezone
        with self.session() as session:
            org = seed_organization(session, now=self.now)
            org.timezone = timezone

    @property
    def now(self) -> datetime:
        """A fixed local time of day on the walk's current date, in UTC."""
        local = datetime.combine(self.day, time(self.hour_local, 30), ZoneInfo(self.timezone))
        return local.astimezone(UTC)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with write_intent():
            session = Session(self.engine, expire_on_commit=False)
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()

    def card(self, customer_id: int, number: str = GOOD_CARD) -> int:
        token = self.gateway.tokenize(CardDetails(number, 12, self.day.year + 5, "123"), now=self.now)
        with self.session() as session:
            method = PaymentMethod(customer_id=customer_id, gateway_token=token.token,
                                   brand=token.brand, last4=token.last4, exp_month=12,
                                   exp_year=self.day.year + 5, is_default=True, created_at=self.now)
            session.add(method)
            session.flush()
            return method.id

    def tick(self) -> lifecycle.TickResult:
        """One scheduler run at the current time: the tick batches, then the charge jobs."""
        total = lifecycle.TickResult()
        for _ in range(MAX_BATCHES_PER_RUN):
            with self.session() as session:
                result = lifecycle.tick(session, now=self.now, limit=50)
            total.processed += result.processed
            if result.payment_ids:  # as the charge jobs do, a batch at a time
                charges.run_many(self.session, self.gateway, payment_ids=result.payment_ids,
                                 now=self.now)
            total.payment_ids += result.payment_ids
            if not result.more and not result.processed:  # as worker.jobs.lifecycle_tick
                return total
        raise AssertionError("the tick kept finding events to process")

    def step(self, days: int = 1) -> None:
        for _ in range(days):
            self.day += timedelta(days=1)
            self.tick()

    # -- what a test asserts through ------------------------------------------------------

    def read(self, fn):
        with Session(self.engine, expire_on_commit=False) as session:
            return fn(session)

    def invoices(self, subscription_id: int) -> list[Invoice]:
        return self.read(lambda s: list(s.exec(select(Invoice).where(
            Invoice.subscription_id == subscription_id).order_by(Invoice.period_start, Invoice.id))))

    def payments(self, customer_id: int, status: str = "succeeded") -> list[Payment]:
        return self.read(lambda s: list(s.exec(select(Payment).where(
            Payment.customer_id == customer_id, Payment.status == status).order_by(Payment.id))))

    def mails(self, to: str) -> list[str]:
        return self.read(lambda s: [m.template for m in s.exec(
            select(OutboxMessage).where(OutboxMessage.to_address == to).order_by(OutboxMessage.id))])

    def assert_ledger(self) -> None:
        """Per customer: Σ totals − Σ allocated − Σ credits applied = Σ open balances."""
        def check(session: Session) -> None:
            for customer in session.exec(select(Customer)):
                cid = customer.id
                totals = session.exec(select(func.coalesce(func.sum(Invoice.total), 0)).where(
                    Invoice.customer_id == cid, Invoice.status != "void")).one()
                allocated = session.exec(select(func.coalesce(func.sum(PaymentAllocation.amount), 0))
                                         .join(Invoice, Invoice.id == PaymentAllocation.invoice_id)
                                         .where(Invoice.customer_id == cid, Invoice.status != "void")).one()
                credited = session.exec(select(func.coalesce(func.sum(CreditApplication.amount), 0))
                                        .join(Invoice, Invoice.id == CreditApplication.invoice_id)
                                        .where(Invoice.customer_id == cid, Invoice.status != "void")).one()
                open_balances = sum(ledger.balance_due(i) for i in session.exec(
                    select(Invoice).where(Invoice.customer_id == cid, Invoice.status == "open")))
                assert totals - allocated - credited == open_balances, (self.day, cid)
        self.read(check)
