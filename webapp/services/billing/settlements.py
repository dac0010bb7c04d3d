"""Recording many succeeded charges at once: the engine's plain renewals, set-based.

For a payment whose success only settles its own live subscription's invoices, this does what
`charges.record`, `ledger.allocate` and `payment_effects.apply` do for one, with one statement
per table for a whole batch: the payment numbered and marked succeeded, its amount allocated
oldest invoice first, the invoices settled and released, the subscription no longer waiting,
a receipt to the customer and a notification to the organization. Anything else (a trial end,
a dunning retry, a card to save, a paid action) is not plain and goes through
`charges.record`; the tests run both over the same payments and compare the rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, select

from webapp.models import Customer, Invoice, Organization, Payment, PaymentAllocation, Subscription
from webapp.services.core import bulk, events, notifications, numbering, outbox
from webapp.services.core.dates import today_in
from webapp.services.core.i18n import N_, _
from webapp.services.core.money import format_money


class StaleBatch(Exception):
    """A payment in the batch was recorded meanwhile; the batch must be rolled back."""


@dataclass(frozen=True)
class HeldInvoice:
    id: int
    issue_date: date
    balance: int
    amount_paid: int


@dataclass(frozen=True)
class PlainPayment:
    id: int
    customer_id: int
    subscription_id: int
    amount: int
    currency: str
    invoices: tuple[HeldInvoice, ...]


def plain(session: Session, payment_ids: list[int], *,
          purposes: tuple[str, ...]) -> dict[int, PlainPayment]:
    """The pending payments among `payment_ids` whose success can be recorded in bulk."""
    if not payment_ids:
        return {}
    rows = session.exec(
        select(Payment.id, Payment.customer_id, Payment.amount, Payment.currency,
               Payment.purpose, Payment.intent, Payment.subscription_id)
        .join(Subscription, Subscription.id == Payment.subscription_id)
        .where(bulk.among(session, Payment.id, payment_ids), Payment.status == "pending",
               Payment.purpose.in_(purposes), Subscription.status == "live",
               Subscription.awaiting_payment_id == Payment.id)).all()
    candidates = {row[0]: row for row in rows if set(row[5]) == {"invoice_ids"}}
    if not candidates:
        return {}
    held = defaultdict(list)
    wanted = {i for row in candidates.values() for i in row[5]["invoice_ids"]}
    for invoice in session.exec(select(
            Invoice.id, Invoice.pending_payment_id, Invoice.customer_id, Invoice.subscription_id,
            Invoice.status, Invoice.currency, Invoice.issue_date, Invoice.total,
            Invoice.amount_paid, Invoice.credits_applied).where(bulk.among(session, Invoice.id, wanted))):
        held[invoice.pending_payment_id].append(invoice)
    found = {}
    for pid, (_id, customer_id, amount, currency, _purpose, intent, sub_id) in candidates.items():
        invoices = held[pid]
        if sorted(i.id for i in invoices) != sorted(intent["invoice_ids"]) or not all(
                i.customer_id == customer_id and i.subscription_id == sub_id
                and i.status == "open" and i.currency == currency for i in invoices):
            continue
        found[pid] = PlainPayment(pid, customer_id, sub_id, amount, currency, tuple(
            HeldInvoice(i.id, i.issue_date, i.total - i.amount_paid - i.credits_applied,
                        i.amount_paid)
            for i in sorted(invoices, key=lambda i: (i.issue_date, i.id))))
    return found


def settle(session: Session, payments: dict[int, PlainPayment], *, references: dict[int, str],
           now: datetime) -> None:
    """Record every payment in `payments` as succeeded, all or none (StaleBatch)."""
    org = session.get(Organization, 1)
    today = today_in(org.timezone, now)
    ids = sorted(payments)
    paid_off = _allocate(session, [payments[pid] for pid in ids], today)
    subs = Subscription.__table__
    bulk.update(session, subs, [{"sub": payments[pid].subscription_id, "payment": pid}
                                for pid in ids],
                types={"sub": subs.c.id, "payment": subs.c.awaiting_payment_id},
                where=lambda v: [subs.c.id == v.sub, subs.c.awaiting_payment_id == v.payment],
                values=lambda v: {"awaiting_payment_id": None})
    # Numbers last: taking them locks the counter until the batch commits, and the next
    # runner's batch waits on it. A payment recorded meanwhile fails the guard below, and the
    # caller rolls the whole batch back, allocations included.
    numbers = dict(zip(ids, numbering.take(session, "payment", len(ids)), strict=True))
    table = Payment.__table__
    marked = bulk.update(
        session, table, [{"id": pid, "number": numbers[pid],
                          "reference": references[pid] or None} for pid in ids],
        types={"id": table.c.id, "number": table.c.number,
               "reference": table.c.gateway_reference},
        where=lambda v: [table.c.id == v.id, table.c.status == "pending"],
        values=lambda v: {"status": "succeeded", "number": v.number,
                          "gateway_reference": v.reference, "failure_reason": None,
                          "paid_on": today, "updated_at": now})
    if marked != len(ids):
        raise StaleBatch(f"{len(ids) - marked} payment(s) recorded meanwhile")
    _tell(session, org, [payments[pid] for pid in ids], numbers, today, now)
    _emit(session, ids, paid_off, now)


def _allocate(session: Session, payments: list[PlainPayment], today: date) -> list[int]:
    """`ledger.allocate` for each payment: oldest invoice first, excess left unallocated;
    returns the ids of the invoices paid off."""
    allocations, settled = [], []
    for payment in payments:
        remaining = payment.amount
        for invoice in payment.invoices:
            share = min(remaining, invoice.balance) if remaining > 0 else 0
            paid_off = share > 0 and invoice.balance - share <= 0
            if share > 0:
                allocations.append({"payment_id": payment.id, "invoice_id": invoice.id,
                                    "amount": share})
                remaining -= share
            settled.append({"id": invoice.id, "payment": payment.id,
                            "paid": invoice.amount_paid + max(share, 0),
                            "status": "paid" if paid_off else "open",
                            "paid_on": today if paid_off else None})
    bulk.insert(session, PaymentAllocation.__table__, allocations)
    t = Invoice.__table__
    bulk.update(session, t, settled,
                types={"id": t.c.id, "payment": t.c.pending_payment_id, "paid": t.c.amount_paid,
                       "status": t.c.status, "paid_on": t.c.paid_on},
                where=lambda v: [t.c.id == v.id, t.c.pending_payment_id == v.payment],
                values=lambda v: {"amount_paid": v.paid, "status": v.status,
                                  "paid_on": v.paid_on, "pending_payment_id": None})
    return [row["id"] for row in settled if row["status"] == "paid"]


def _emit(session: Session, payment_ids: list[int], invoice_ids: list[int],
          now: datetime) -> None:
    """The webhook events `charges.record` and `ledger.allocate` write for one payment:
    payment.succeeded for each, invoice.paid for each invoice paid off."""
    paid = session.exec(select(Payment).where(bulk.among(session, Payment.id, payment_ids))
                        .order_by(Payment.id).execution_options(populate_existing=True)).all()
    invoices = session.exec(select(Invoice).where(bulk.among(session, Invoice.id, invoice_ids))
                            .order_by(Invoice.id)
                            .execution_options(populate_existing=True)).all() if invoice_ids else []
    events.emit_many(session, [
        *(("payment.succeeded", events.public("payment", p), {"status": "pending"})
          for p in paid),
        *(("invoice.paid", events.public("invoice", i), {"status": "open"}) for i in invoices),
    ], now=now)


def _tell(session: Session, org: Organization, payments: list[PlainPayment],
          numbers: dict[int, str], today: date, now: datetime) -> None:
    """The receipt to each customer and the organization's notification, as for one payment."""
    customers = {c.id: c for c in session.exec(
        select(Customer.id, Customer.display_name, Customer.email)
        .where(bulk.among(session, Customer.id, {p.customer_id for p in payments})))}
    amounts = {p.id: format_money(p.amount, p.currency, org.locale) for p in payments}
    outbox.enqueue_many(session, [
        {"template": "payment_receipt", "to": customers[p.customer_id].email,
         "subject": _("Payment receipt %(number)s", number=numbers[p.id]),
         "customer_id": p.customer_id,
         "context": {"name": customers[p.customer_id].display_name, "amount": p.amount,
                     "currency": p.currency,
                     "number": numbers[p.id], "paid_on": today.isoformat(),
                     "page": outbox.page("payments.receipt", payment_id=p.id)}}
        for p in payments], now=now)
    notifications.notify_org_many(session, event=notifications.PAYMENT_RECEIVED, items=[
        (N_("Payment received: %(amount)s from %(customer)s"), N_("Receipt %(number)s."),
         p.customer_id, {"amount": amounts[p.id],
                         "customer": customers[p.customer_id].display_name,
                         "number": numbers[p.id]}) for p in payments], now=now,
        emails={c.id: c.email for c in customers.values()})
