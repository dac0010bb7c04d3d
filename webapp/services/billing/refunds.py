"""Refunds: money back on a payment, in the ledger (and at the processor, by the caller).

A refund comes out of the payment's unapplied part first, then out of the invoices it paid,
newest first, which are open again for that amount (the ledger rules, admin/billing.py). Made
in the back office (`admin.billing.refund_payment`, which asks the gateway first) or reported by
the processor's `charge.refunded` webhook (`from_gateway`): a refund the processor names is
recorded once, by its id.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from webapp.models import Invoice, Payment, PaymentAllocation
from webapp.services.billing import ledger
from webapp.services.core import wording
from webapp.services.core.dates import Moment


def refunded_total(session: Session, *conditions) -> int:
    return int(session.exec(select(func.coalesce(func.sum(Payment.amount), 0)).where(
        Payment.kind == "refund", Payment.status == "succeeded", *conditions)).one())


def applied_total(session: Session, *conditions) -> int:
    """Σ allocations of payments to invoices that still count (not void)."""
    return int(session.exec(
        select(func.coalesce(func.sum(PaymentAllocation.amount), 0))
        .join(Invoice, Invoice.id == PaymentAllocation.invoice_id)
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(Invoice.status != "void", *conditions)).one())


def refundable(session: Session, payment: Payment) -> int:
    """What can still go back to the customer: the amount less what was refunded."""
    return payment.amount - refunded_total(session, Payment.refund_of_id == payment.id)


def unapplied(session: Session, payment: Payment) -> int:
    """What of the payment sits on no invoice (and was not refunded)."""
    return refundable(session, payment) - applied_total(
        session, PaymentAllocation.payment_id == payment.id)


def release(session: Session, payment: Payment, amount: int) -> None:
    """Take `amount` of the payment off the invoices it paid, newest first; they reopen."""
    rows = session.exec(select(PaymentAllocation, Invoice)
                        .join(Invoice, Invoice.id == PaymentAllocation.invoice_id)
                        .where(PaymentAllocation.payment_id == payment.id,
                               Invoice.status != "void")
                        .order_by(col(Invoice.issue_date).desc(), col(Invoice.id).desc())).all()
    for allocation, invoice in rows:
        if amount <= 0:
            break
        share = min(amount, allocation.amount)
        allocation.amount -= share
        invoice.amount_paid -= share
        if invoice.status == "paid" and ledger.balance_due(invoice) > 0:
            invoice.status, invoice.paid_on = "open", None
        if allocation.amount == 0:
            session.delete(allocation)
        amount -= share
    session.flush()


def record(session: Session, *, payment: Payment, value: int, reference: str, at: Moment,
           gateway_reference: str | None = None) -> Payment:
    """The refund row of `value` (the caller checked it is refundable), the invoices it comes
    out of reopened; `gateway_reference` is the processor's refund id when it made one."""
    from_invoices = value - max(0, min(value, unapplied(session, payment)))
    release(session, payment, from_invoices)
    refund = ledger.refund_row(session, payment, value, method=payment.method,
                               reference=" ".join((reference or "").split())
                               or f"Refund of {payment.number}", at=at)
    refund.gateway_reference = gateway_reference
    session.flush()
    return refund


def from_gateway(session: Session, *, intent_reference: str, refunds: list[tuple[str, int]],
                 at: Moment) -> list[Payment]:
    """The processor's refunds of the payment with that intent (its `charge.refunded`), those
    not recorded yet: each is recorded once, by its id (a webhook arriving twice, or after
    the back office recorded it, adds nothing). At most what is still refundable."""
    payment = session.exec(select(Payment).where(Payment.gateway_reference == intent_reference,
                                                 Payment.kind == "payment",
                                                 Payment.status == "succeeded")).first()
    if payment is None:
        return []
    known = set(session.exec(select(Payment.gateway_reference).where(
        Payment.refund_of_id == payment.id, Payment.gateway_reference.is_not(None))))
    made = []
    for refund_id, amount in refunds:
        value = min(amount, refundable(session, payment))
        if refund_id in known or value <= 0:
            continue
        made.append(record(session, payment=payment, value=value, at=at,
                           reference=wording.GATEWAY_REFUND,
                           gateway_reference=refund_id))
    return made
