"""Small factories for arranging tests in one line."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session, select

from webapp.models import Customer, Plan, PlanPrice, Subscription, User
from webapp.services.accounts.auth import hash_password
from webapp.services.billing import ledger
from webapp.services.billing.pricing import Charge, price
from webapp.services.core import numbering
from webapp.services.core.dates import Moment


def moment_on(day: date, now: datetime | None = None, timezone: str = "UTC") -> Moment:
    """The `Moment` a service is given: `day` as the organization's date, at `now` (noon UTC
    on `day` when the test does not care about the instant). Both are taken as they are, so a
    test keeps the exact date and instant it always passed."""
    return Moment(now or datetime.combine(day, time(12), tzinfo=UTC), day, timezone)


def make_customer(session: Session, *, now: datetime, email: str = "kim@example.com",
                  currency: str = "USD", password: str | None = None) -> Customer:
    customer = Customer(display_name="Kim Test", email=email, currency=currency,
                        portal_enabled=True, created_at=now)
    session.add(customer)
    session.flush()
    if password:
        session.add(User(email=email, password_hash=hash_password(password), role="customer",
                         customer_id=customer.id, created_at=now))
    return customer


def make_plan(session: Session, *, now: datetime, code: str = "test-monthly",
              amount: int = 1000, currency: str = "USD", unit: str = "month",
              count: int = 1) -> Plan:
    plan = session.exec(select(Plan).where(Plan.code == code)).first()
    if plan is None:
        plan = Plan(code=code, name=code.title(), interval_unit=unit, interval_count=count,
                    created_at=now)
        session.add(plan)
        session.flush()
        session.add(PlanPrice(plan_id=plan.id, currency=currency, amount=amount))
        session.flush()
    return plan


def make_subscription(session: Session, *, customer: Customer, now: datetime,
                      status: str = "live", start: date | None = None,
                      plan: Plan | None = None) -> Subscription:
    plan = plan or make_plan(session, now=now, currency=customer.currency)
    start = start or now.date()
    sub = Subscription(number=numbering.take_one(session, "subscription"),
                       customer_id=customer.id, plan_id=plan.id, currency=customer.currency,
                       status=status, start_date=start, anchor_day=start.day,
                       current_term_start=start, current_term_end=start + timedelta(days=30),
                       next_billing_date=start + timedelta(days=30), created_at=now,
                       updated_at=now)
    session.add(sub)
    session.flush()
    return sub


def make_invoice(session: Session, *, customer: Customer, now: datetime, amount: int = 1000,
                 issue: date | None = None, due_days: int = 14, subscription_id: int | None = None,
                 kind: str = "one_off", tax_rate_bp: int | None = None):
    issue = issue or now.date()
    priced = price([Charge("one_off", "Service", 1, amount)], tax_rate_bp=tax_rate_bp)
    return ledger.issue_invoice(session, customer_id=customer.id, currency=customer.currency,
                                kind=kind, priced=priced, issue_date=issue,
                                due_date=issue + timedelta(days=due_days), now=now,
                                subscription_id=subscription_id)


def pay(session: Session, *, customer: Customer, invoices: list, amount: int, now: datetime,
        method: str = "card"):
    return ledger.record_payment(session, customer_id=customer.id, amount=amount,
                                 currency=customer.currency, invoices=invoices,
                                 paid_on=now.date(), now=now, method=method,
                                 idempotency_key=f"test-{invoices[0].id}-{amount}-{now.timestamp()}")
