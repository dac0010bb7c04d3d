"""Renewals in bulk: the tick's common case as set-based work, a few statements per batch.

A due live subscription whose renewal is plain (no scheduled change waiting, billing cycles
left, no unused credit to apply) is renewed here with one statement per table for the whole
batch, instead of an ORM round trip per subscription; every other one is handed back to the
per-subscription path in `lifecycle`. Both write the same rows: `terms.draft` prices the term,
invoice numbers come from the same gap-free counter in subscription order, and the tests run
both paths over the same subscriptions and compare them row by row.

Exactly once: the caller selected the batch FOR UPDATE SKIP LOCKED (PostgreSQL) or inside a
write transaction (SQLite); the engine's invoices are unique per (subscription, period start,
kind); and the subscriptions are moved on by one guarded UPDATE per row (status, due date and
no charge in flight, as the state machine's "renew" would check). If any guard misses, the
batch raises StaleBatch and the caller rolls its savepoint back and takes the slow path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from webapp.models import (
    CreditNote,
    Customer,
    Invoice,
    InvoiceLine,
    Payment,
    ScheduledChange,
    Subscription,
    SubscriptionCoupon,
)
from webapp.services.billing import ledger, tax, terms
from webapp.services.billing.catalog import subscription_items
from webapp.services.core import bulk, events, numbering, outbox, state_machine
from webapp.services.core.dates import Moment
from webapp.services.core.i18n import _


class StaleBatch(Exception):
    """A subscription in the batch changed under it; the batch must be rolled back."""


@dataclass(frozen=True)
class BulkRenewal:
    renewed: list[int]  # subscription ids
    payment_ids: list[int]  # pending charges to dispatch after commit
    leftovers: list[Subscription]  # for the per-subscription path


def renew(session: Session, subs: list[Subscription], *, at: Moment, org,
          invoice_due_days: int) -> BulkRenewal:
    """Renew the plain ones among `subs` (live, due, no charge in flight) in bulk."""
    state_machine.check("live", "renew", "live")
    plain, leftovers = _split(session, subs, at.today)
    items = subscription_items(session, plain)
    drafts = []
    taxes = tax.taxes_for(session, [sub.customer_id for sub in plain])
    for sub in plain:
        plan = items[sub.id].plan
        if plan.billing_cycles is not None and sub.cycles_billed >= plan.billing_cycles:
            leftovers.append(sub)  # expires instead of renewing
            continue
        drafts.append((sub, terms.draft(session, sub, terms.Term(sub.next_billing_date,
                                                                 "renewal"),
                                        tax=taxes[sub.customer_id],
                                        items=items[sub.id])))
    if not drafts:
        return BulkRenewal([], [], leftovers)
    # Ids first, so each pending payment is written before the invoice that it holds. The
    # invoices come last: taking their numbers locks the counter until the batch commits, and
    # a second runner's batch waits on it, so the less is written after it the better.
    invoice_ids = bulk.reserve_ids(session, Invoice.__table__, len(drafts))
    payments = _start_charges(session, drafts, invoice_ids, now=at.now)
    _move_on(session, drafts, invoice_ids, payments, now=at.now)
    _count_coupon_terms(session, drafts)
    numbers = _write_invoices(session, drafts, invoice_ids, payments, at=at,
                              due_days=invoice_due_days)
    _mail_invoices(session, drafts, invoice_ids, numbers, payments, org=org, at=at,
                   due_days=invoice_due_days)
    renewed = [sub.id for sub, _ in drafts]
    for sub, _draft in drafts:
        session.expire(sub)  # the rows moved on under the ORM's copies
        # A renewal is a transition (live → live), noted as the one-by-one path's is: its MRR
        # movement, if any, is recorded before the commit, four statements for the batch.
        state_machine.changed(session, sub.id, now=at.now)
    return BulkRenewal(renewed, list(payments.values()), leftovers)


def _split(session: Session, subs: list[Subscription],
           today: date) -> tuple[list[Subscription], list[Subscription]]:
    """Plain renewals, and the rest (a change to apply first, or credit to use)."""
    ids = [s.id for s in subs]
    changing = set(session.exec(select(ScheduledChange.subscription_id).where(
        bulk.among(session, ScheduledChange.subscription_id, ids), ScheduledChange.effective_on <= today)))
    with_credit = set(session.exec(select(CreditNote.customer_id).where(
        bulk.among(session, CreditNote.customer_id, {s.customer_id for s in subs}),
        CreditNote.status == "open", CreditNote.balance > 0)))
    plain, rest = [], []
    for sub in subs:
        ok = sub.id not in changing and sub.customer_id not in with_credit
        (plain if ok else rest).append(sub)
    return plain, rest


def _automatic(sub: Subscription) -> bool:
    return sub.autocharge and sub.payment_method_id is not None


def _write_invoices(session: Session, drafts, ids: list[int], payments: dict[int, int], *,
                    at: Moment, due_days: int) -> list[str]:
    """The invoices (with the ids reserved for them, held by their pending payments), their
    lines; returns their numbers."""
    numbers = numbering.take(session, "invoice", len(drafts))
    rows = []
    for invoice_id, number, (sub, draft) in zip(ids, numbers, drafts, strict=True):
        settled = draft.priced.total <= 0  # nothing to pay: paid on issue, as ledger settles
        rows.append({
            "id": invoice_id, "number": number, "customer_id": sub.customer_id, "subscription_id": sub.id,
            "kind": draft.kind, "status": "paid" if settled else "open",
            "currency": sub.currency, "issue_date": at.today,
            "due_date": at.today if _automatic(sub) else at.today + timedelta(days=due_days),
            "period_start": draft.period.start, "period_end": draft.period.end,
            "subtotal": draft.priced.subtotal, "tax_total": draft.priced.tax_total,
            "total": draft.priced.total, "tax_rate_bp": draft.priced.tax_rate_bp,
            "tax_note": draft.priced.tax_note, "amount_paid": 0, "credits_applied": 0,
            "paid_on": at.today if settled else None, "pending_payment_id": payments.get(sub.id),
            "created_at": at.now})
    bulk.insert(session, Invoice.__table__, rows)
    events.emit_many(session, [
        *(("invoice.created", events.public("invoice", row), None) for row in rows),
        *(("invoice.paid", events.public("invoice", row), {"status": "open"})
          for row in rows if row["status"] == "paid")], now=at.now)
    bulk.insert(session, InvoiceLine.__table__, [
        {"invoice_id": invoice_id, **ledger.line_columns(draft.priced, index, line)}
        for invoice_id, (_, draft) in zip(ids, drafts, strict=True)
        for index, line in enumerate(draft.priced.lines)])
    return numbers


def _count_coupon_terms(session: Session, drafts) -> None:
    """As terms.count_coupon_terms: the term's coupons count one term each and discount
    its prorations; the subscriptions' other coupons no longer do."""
    table = SubscriptionCoupon.__table__
    session.execute(update(table).where(bulk.among(session, table.c.subscription_id,
                                                   [sub.id for sub, _ in drafts]))
                    .values(in_current_term=False))
    bulk.update(session, table, [{"sub": sub.id, "coupon": coupon_id}
                                 for sub, draft in drafts for coupon_id in draft.coupon_ids],
                types={"sub": table.c.subscription_id, "coupon": table.c.coupon_id},
                where=lambda v: [table.c.subscription_id == v.sub, table.c.coupon_id == v.coupon],
                values=lambda v: {"terms_used": table.c.terms_used + 1, "in_current_term": True})


def _start_charges(session: Session, drafts, invoice_ids: list[int], *,
                   now: datetime) -> dict[int, int]:
    """Pending payments for the automatic ones, each to hold its invoice: sub id -> payment."""
    due = [(sub, invoice_id, draft.priced.total)
           for (sub, draft), invoice_id in zip(drafts, invoice_ids, strict=True)
           if _automatic(sub) and draft.priced.total > 0]
    if not due:
        return {}
    payment_ids = bulk.insert_ids(session, Payment.__table__, [
        {"customer_id": sub.customer_id, "kind": "payment", "status": "pending",
         "method": "card", "payment_method_id": sub.payment_method_id, "amount": amount,
         "currency": sub.currency, "idempotency_key": f"engine-{invoice_id}-1",
         "reference": "", "purpose": "renewal", "subscription_id": sub.id, "attempt": 1,
         "intent": {"invoice_ids": [invoice_id]}, "created_at": now, "updated_at": now}
        for sub, invoice_id, amount in due])
    return {sub.id: payment_id for (sub, _, _), payment_id in zip(due, payment_ids, strict=True)}


def _mail_invoices(session: Session, drafts, invoice_ids: list[int], numbers: list[str],
                   payments: dict[int, int], *, org, at: Moment, due_days: int) -> None:
    """Invoices that are not charged automatically are emailed, as the slow path does."""
    mailed = [(sub, draft, invoice_id, number)
              for (sub, draft), invoice_id, number in zip(
                  drafts, invoice_ids, numbers, strict=True)
              if sub.id not in payments and draft.priced.total > 0]
    if not mailed:
        return
    customers = {c.id: c for c in session.exec(select(Customer).where(
        Customer.id.in_({sub.customer_id for sub, *_ in mailed})))}
    due_date = (at.today + timedelta(days=due_days)).isoformat()
    outbox.enqueue_many(session, [
        {"template": "invoice_issued", "to": customers[sub.customer_id].email,
         "subject": _("Invoice %(number)s from %(org)s", number=number, org=org.name),
         "customer_id": sub.customer_id,
         "context": {"name": customers[sub.customer_id].display_name, "number": number,
                     "amount": draft.priced.total, "currency": sub.currency,
                     "due_date": due_date,
                     "page": outbox.page("invoices.detail", invoice_id=invoice_id)}}
        for sub, draft, invoice_id, number in mailed], now=at.now)


def _move_on(session: Session, drafts, invoice_ids: list[int], payments: dict[int, int], *,
             now: datetime) -> None:
    """The guarded "renew" transition with the new term, one row each; all must match. The
    term's invoice is what the customer holds now."""
    t = Subscription.__table__
    moved = bulk.update(
        session, t, [{"id": sub.id, "due": sub.next_billing_date, "start": draft.period.start,
                      "end": draft.period.end, "payment": payments.get(sub.id),
                      "invoice": invoice_id}
                     for (sub, draft), invoice_id in zip(drafts, invoice_ids, strict=True)],
        types={"id": t.c.id, "due": t.c.next_billing_date, "start": t.c.current_term_start,
               "end": t.c.current_term_end, "payment": t.c.awaiting_payment_id,
               "invoice": t.c.held_invoice_id},
        where=lambda v: [t.c.id == v.id, t.c.status == "live", t.c.next_billing_date == v.due,
                         t.c.awaiting_payment_id.is_(None)],
        values=lambda v: {"current_term_start": v.start, "current_term_end": v.end,
                          "next_billing_date": v.end, "cycles_billed": t.c.cycles_billed + 1,
                          "awaiting_payment_id": v.payment, "held_invoice_id": v.invoice,
                          "term_days": None, "updated_at": now})
    if moved != len(drafts):
        raise StaleBatch(f"{len(drafts) - moved} subscription(s) changed meanwhile")
