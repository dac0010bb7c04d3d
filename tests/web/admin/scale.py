"""Many customers at once for the admin home's statement count (bulk inserts, no services)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert
from sqlmodel import Session, select

from webapp.models import Customer, Invoice, MrrMovement, Payment, Plan, Subscription


def add_customers(session: Session, count: int, *, now: datetime) -> None:
    plan = session.exec(select(Plan).order_by(Plan.id)).first()
    today = now.date()
    first = session.exec(select(Customer.id).order_by(Customer.id.desc())).first() + 1
    session.execute(insert(Customer), [
        {"display_name": f"Scale {i}", "email": f"scale{i}@example.com", "currency": "USD",
         "portal_enabled": False, "created_at": now} for i in range(count)])
    ids = [first + i for i in range(count)]
    session.execute(insert(Subscription), [
        {"number": f"SC-{i}", "customer_id": cid, "plan_id": plan.id, "currency": "USD",
         "status": "live" if i % 4 else "dunning", "start_date": today - timedelta(days=400),
         "next_billing_date": today + timedelta(days=i % 40), "created_at": now,
         "updated_at": now, "next_retry_on": today + timedelta(days=1) if i % 4 == 0 else None}
        for i, cid in enumerate(ids)])
    subs = dict(session.exec(select(Subscription.customer_id, Subscription.id)
                             .where(Subscription.number.like("SC-%"))).all())
    session.execute(insert(MrrMovement), [
        {"subscription_id": subs[cid], "customer_id": cid, "currency": "USD",
         "moved_on": today - timedelta(days=400), "kind": "new", "before_num": 0,
         "before_den": 12, "after_num": 12_000, "after_den": 12, "before_amount": 0,
         "after_amount": 1000,
         "estimated": False, "created_at": now} for cid in ids])
    session.execute(insert(Invoice), [
        {"number": f"SCI-{i}", "customer_id": cid, "subscription_id": subs[cid],
         "kind": "renewal", "status": "open", "currency": "USD",
         "issue_date": today - timedelta(days=i % 120), "due_date": today - timedelta(days=i % 120),
         "total": 1000, "subtotal": 1000, "created_at": now} for i, cid in enumerate(ids)])
    session.execute(insert(Payment), [
        {"customer_id": cid, "kind": "payment", "status": "succeeded" if i % 5 else "failed",
         "amount": 1000, "currency": "USD", "idempotency_key": f"scale-{i}",
         "paid_on": today - timedelta(days=i % 60) if i % 5 else None, "intent": {},
         "created_at": now, "updated_at": now} for i, cid in enumerate(ids)])
