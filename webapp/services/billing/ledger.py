"""Writing the ledger: invoices, credit notes, credit applications and payment allocations.

Every money-moving service (the engine, payments, cancellations, the back office) goes through
these functions, so the identity Σ invoice totals − Σ allocations − Σ credits applied =
Σ open balances holds by construction.

Unused credit never sits beside an open invoice of the same currency: a new credit note is
applied to the customer's open invoices oldest first (a given invoice first, when there is
one), and a new invoice takes the credit left over (DESIGN.md: Invoices).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func
from sqlmodel import Session, select

from webapp.models import (
    CreditApplication,
    CreditNote,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentAllocation,
    Subscription,
)
from webapp.services.billing.pricing import Priced
from webapp.services.core import events, numbering
from webapp.services.core.dates import Moment

# Invoices that pay for days of a term: the newest one is what the subscription holds now.
HELD_KINDS = ("first_term", "renewal", "reactivation", "proration")
TO_CREDIT = "credit"  # the method of a refund row that moved money onto a credit note


def balance_due(invoice: Invoice) -> int:
    """What is still owed on an invoice (0 for paid and void ones)."""
    if invoice.status == "void":
        return 0
    return invoice.total - invoice.amount_paid - invoice.credits_applied


def _settle(session: Session, invoice: Invoice, on: date, now: datetime) -> None:
    if invoice.status == "open" and balance_due(invoice) <= 0:
        invoice.status = "paid"
        invoice.paid_on = on
        events.emit(session, "invoice.paid", events.public("invoice", invoice), now=now,
                    previous={"status": "open"})


@dataclass(frozen=True)
class Period:
    start: date
    end: date


def line_columns(priced: Priced, position: int, line) -> dict:
    """An invoice line's columns: the line, and its tax as decided on the day (its rate,
    label and basis stay with it when the customer's tax changes later)."""
    return {"position": position, "kind": line.kind, "description": line.description,
            "quantity": line.quantity, "unit_amount": line.unit_amount, "amount": line.amount,
            "tax_amount": line.tax_amount, "tax_rate_bp": priced.tax_rate_bp,
            "tax_label": priced.tax_label, "tax_basis": line.amount}


def issue_invoice(session: Session, *, customer_id: int, currency: str, kind: str,
                  priced: Priced, issue_date: date, due_date: date, now: datetime,
                  subscription_id: int | None = None, period: Period | None = None,
                  idempotency_key: str | None = None, apply_credit: bool = True) -> Invoice:
    """Number and write an invoice with its lines, then apply the customer's unused credit.

    A term's invoice, or a mid-term change's, becomes what its subscription holds now.
    """
    invoice = Invoice(
        number=numbering.take_one(session, "invoice"), customer_id=customer_id,
        subscription_id=subscription_id, kind=kind, status="open", currency=currency,
        issue_date=issue_date, due_date=due_date,
        period_start=period.start if period else None, period_end=period.end if period else None,
        subtotal=priced.subtotal, tax_total=priced.tax_total, total=priced.total,
        tax_rate_bp=priced.tax_rate_bp, tax_note=priced.tax_note,
        idempotency_key=idempotency_key, created_at=now)
    session.add(invoice)
    session.flush()
    session.add_all(InvoiceLine(invoice_id=invoice.id, **line_columns(priced, index, line))
                    for index, line in enumerate(priced.lines))
    if subscription_id is not None and kind in HELD_KINDS:
        session.get(Subscription, subscription_id).held_invoice_id = invoice.id
    events.emit(session, "invoice.created", events.public("invoice", invoice), now=now)
    if apply_credit:
        apply_unused_credit(session, invoice=invoice, on=issue_date, now=now)
    _settle(session, invoice, issue_date, now)
    session.flush()
    return invoice


def create_credit_note(session: Session, *, customer_id: int, currency: str, total: int,
                       reason: str, issue_date: date, now: datetime,
                       invoice_id: int | None = None, subscription_id: int | None = None,
                       apply_first: Invoice | None = None) -> CreditNote:
    """A credit for the customer, applied at once to their open invoices in its currency:
    `apply_first` before the others, then oldest first; what is left waits for the next
    invoice."""
    if total <= 0:
        raise ValueError("a credit note is for a positive amount")
    note = CreditNote(number=numbering.take_one(session, "credit_note"), customer_id=customer_id,
                      invoice_id=invoice_id, subscription_id=subscription_id, currency=currency,
                      reason=reason, total=total, balance=total, issue_date=issue_date,
                      created_at=now)
    session.add(note)
    session.flush()
    apply_to_open_invoices(session, note=note, first=apply_first, on=issue_date, now=now)
    return note


def apply_to_open_invoices(session: Session, *, note: CreditNote, on: date, now: datetime,
                           first: Invoice | None = None) -> int:
    """Use a credit note's balance on open invoices: `first`, then the oldest; returns the
    amount. An invoice a charge is paying right now is left to that charge."""
    others = session.exec(select(Invoice).where(
        Invoice.customer_id == note.customer_id, Invoice.currency == note.currency,
        Invoice.status == "open", Invoice.pending_payment_id.is_(None),
        Invoice.issue_date <= on).order_by(Invoice.issue_date, Invoice.id)).all()
    targets = ([first] if first is not None else []) + [i for i in others if i is not first]
    applied = 0
    for invoice in targets:
        if note.balance <= 0:
            break
        if invoice.status != "open" or invoice.pending_payment_id is not None or \
                invoice.currency != note.currency or balance_due(invoice) <= 0:
            continue
        applied += apply_credit_note(session, note=note, invoice=invoice,
                                     amount=note.balance, on=on, now=now).amount
    session.flush()
    return applied


def apply_credit_note(session: Session, *, note: CreditNote, invoice: Invoice, amount: int,
                      on: date, now: datetime) -> CreditApplication:
    """Apply part of a credit note to an open invoice of the same customer and currency."""
    if note.customer_id != invoice.customer_id or note.currency != invoice.currency:
        raise ValueError("credit applies within one customer and currency")
    amount = min(amount, note.balance, balance_due(invoice))
    if amount <= 0:
        raise ValueError("nothing to apply")
    application = CreditApplication(credit_note_id=note.id, invoice_id=invoice.id, amount=amount,
                                    applied_on=on)
    note.balance -= amount
    if note.balance == 0:
        note.status = "closed"
    invoice.credits_applied += amount
    session.add(application)
    _settle(session, invoice, on, now)
    return application


def apply_unused_credit(session: Session, *, invoice: Invoice, on: date, now: datetime) -> int:
    """Use the customer's open credit notes, oldest first, on this invoice; returns the amount."""
    if invoice.status != "open" or balance_due(invoice) <= 0:
        return 0
    notes = session.exec(
        select(CreditNote).where(CreditNote.customer_id == invoice.customer_id,
                                 CreditNote.currency == invoice.currency,
                                 CreditNote.status == "open", CreditNote.balance > 0,
                                 CreditNote.issue_date <= on)
        .order_by(CreditNote.issue_date, CreditNote.id)).all()
    applied = 0
    for note in notes:
        if balance_due(invoice) <= 0:
            break
        applied += apply_credit_note(session, note=note, invoice=invoice,
                                     amount=balance_due(invoice), on=on, now=now).amount
    return applied


def allocate(session: Session, *, payment: Payment, invoices: list[Invoice],
             on: date, now: datetime) -> list[PaymentAllocation]:
    """Spread a succeeded payment over invoices, oldest first; any excess stays unallocated."""
    remaining = payment.amount
    allocations = []
    for invoice in sorted(invoices, key=lambda inv: (inv.issue_date, inv.id)):
        if remaining <= 0:
            break
        share = min(remaining, balance_due(invoice))
        if share <= 0:
            continue
        allocation = PaymentAllocation(payment_id=payment.id, invoice_id=invoice.id, amount=share)
        session.add(allocation)
        invoice.amount_paid += share
        remaining -= share
        _settle(session, invoice, on, now)
        allocations.append(allocation)
    session.flush()
    return allocations


def record_payment(session: Session, *, customer_id: int, amount: int, currency: str,
                   invoices: list[Invoice], paid_on: date, now: datetime, method: str = "card",
                   payment_method_id: int | None = None, reference: str = "",
                   idempotency_key: str, gateway_reference: str | None = None) -> Payment:
    """A payment that has already succeeded (offline, or settled by the gateway), allocated."""
    payment = Payment(number=numbering.take_one(session, "payment"), customer_id=customer_id,
                      kind="payment", status="succeeded", method=method,
                      payment_method_id=payment_method_id, amount=amount, currency=currency,
                      idempotency_key=idempotency_key, gateway_reference=gateway_reference,
                      reference=reference, paid_on=paid_on, created_at=now, updated_at=now)
    session.add(payment)
    session.flush()
    events.emit(session, "payment.succeeded", events.public("payment", payment), now=now)
    allocate(session, payment=payment, invoices=invoices, on=paid_on, now=now)
    return payment


def refund_row(session: Session, payment: Payment, amount: int, *, method: str, reference: str,
               at: Moment) -> Payment:
    """A refund of part of a payment: money back by `method`, or onto a credit note
    (TO_CREDIT). Two racing refunds of one payment make the same key; the unique key refuses
    the second."""
    count = session.exec(select(func.count()).select_from(Payment)
                         .where(Payment.refund_of_id == payment.id)).one()
    row = Payment(number=numbering.take_one(session, "payment"), customer_id=payment.customer_id,
                  kind="refund", status="succeeded", method=method, amount=amount,
                  currency=payment.currency, refund_of_id=payment.id, reference=reference[:200],
                  idempotency_key=f"refund-{payment.id}-{count + 1}",
                  paid_on=at.today, created_at=at.now, updated_at=at.now)
    session.add(row)
    session.flush()
    events.emit(session, "payment.refunded", events.public("payment", row), now=at.now)
    return row


def payment_to_credit(session: Session, *, payment: Payment, amount: int, reason: str,
                      at: Moment, reference: str | None = None) -> CreditNote:
    """Move `amount` of a payment that sits on no invoice onto a new credit note."""
    refund_row(session, payment, amount, method=TO_CREDIT,
               reference=reference or f"Credit from {payment.number}", at=at)
    return create_credit_note(session, customer_id=payment.customer_id,
                              currency=payment.currency, total=amount, reason=reason,
                              issue_date=at.today, now=at.now)
