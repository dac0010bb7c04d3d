"""Invoices and payments in the back office: one-off invoices, voids, offline payments, refunds
and payments turned into credit. Everything is written through the ledger, so statements
(services/statements.py) show it and still balance.

How each action keeps a customer's statement equal to their account (what they owe, less
unused credit and payments not yet applied to an invoice):
- a void invoice leaves the statement, so what had been settled on it must leave it too:
  credit applied from credit notes goes back to those notes, and the paid part becomes a
  credit note, paired with a refund row of method "credit" against each payment (the payment
  moved to the credit note: a debit and a credit on the same day);
- a refund (money back, by the payment's own method) is a debit on the statement; it comes out
  of the payment's unapplied part first, then out of the invoices it paid, newest first,
  which are open again for that amount;
- turning a payment into credit takes only its unapplied part: a refund row of method "credit"
  and a credit note of the same amount.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from webapp.models import (
    CreditApplication,
    CreditNote,
    Customer,
    Invoice,
    Organization,
    Payment,
    PaymentAllocation,
)
from webapp.services.admin import Actor
from webapp.services.admin.customers import get_customer
from webapp.services.billing import charges, invoices, ledger, payment_effects, refunds, tax
from webapp.services.billing.credits import unused_credit
from webapp.services.billing.pricing import Charge, price
from webapp.services.core import audit, events, outbox, wording
from webapp.services.core.dates import Moment, dated
from webapp.services.core.errors import DomainError, IllegalTransition, NotFound
from webapp.services.core.i18n import N_, _
from webapp.services.core.money import Amount, parse_money
from webapp.services.core.preferences import InvalidChanges
from webapp.services.payments import history as payments
from webapp.services.subscriptions.lifecycle import INVOICE_DUE_DAYS

OFFLINE_METHODS = {"bank_transfer": _("Bank transfer"), "cash": _("Cash"), "cheque": _("Cheque")}
TO_CREDIT = ledger.TO_CREDIT
# Why an invoice cannot be voided, by its status.
NOT_VOIDABLE = {"paid": N_("Invoice %(number)s is paid: only open invoices can be voided."),
                "void": N_("Invoice %(number)s is void: only open invoices can be voided.")}
MAX_LINES = 20


# --- Where a customer's account stands -------------------------------------------------------

@dataclass(frozen=True)
class AccountPosition:
    currency: str
    outstanding: int  # Σ open invoices' balances
    overdue_invoices: int
    unused_credit: int  # Σ open credit notes' balances
    unapplied_payments: int  # paid but on no invoice (and not refunded)

    @property
    def balance(self) -> int:
        """What the customer owes, net: the statement's Balance Due over all time."""
        return self.outstanding - self.unused_credit - self.unapplied_payments


def account_position(session: Session, *, customer_id: int, at: Moment) -> AccountPosition:
    """Outstanding, unused credit and unapplied payments, in the customer's currency."""
    customer = get_customer(session, customer_id)
    outstanding, overdue = invoices.outstanding(session, customer_id=customer_id, at=at)
    paid = int(session.exec(select(func.coalesce(func.sum(Payment.amount), 0)).where(
        Payment.customer_id == customer_id, Payment.kind == "payment",
        Payment.status == "succeeded", Payment.currency == customer.currency)).one())
    applied = refunds.applied_total(session, Payment.customer_id == customer_id,
                             Payment.currency == customer.currency)
    refunded = refunds.refunded_total(session, Payment.customer_id == customer_id,
                               Payment.currency == customer.currency)
    return AccountPosition(customer.currency, outstanding, overdue,
                           unused_credit(session, customer_id=customer_id),
                           paid - applied - refunded)


# --- One-off invoices -------------------------------------------------------------------------

@dataclass(frozen=True)
class LineInput:
    description: str = ""
    quantity: str = "1"
    unit_price: str = ""

    @property
    def blank(self) -> bool:
        return not (self.description or "").strip() and not (self.unit_price or "").strip()


def _charges(lines: list[LineInput], currency: str) -> list[Charge]:
    errors: dict[str, str] = {}
    charges = []
    for index, line in enumerate(lines[:MAX_LINES]):
        if line.blank:
            continue
        name = f"lines-{index}-"
        description = " ".join((line.description or "").split())
        if not description:
            errors[name + "description"] = _("Describe what is billed.")
        elif len(description) > 500:
            errors[name + "description"] = _("Use at most 500 characters.")
        quantity = (line.quantity or "").strip() or "1"
        if not quantity.isdigit() or not 1 <= int(quantity) <= 100000:
            errors[name + "quantity"] = _("Enter a whole number from 1 to 100000.")
        try:
            unit = parse_money(line.unit_price or "", currency)
            if unit <= 0:
                errors[name + "unit_price"] = _("Enter a price above zero.")
        except ValueError as exc:
            errors[name + "unit_price"] = str(exc)
        if not any(k.startswith(name) for k in errors):
            charges.append(Charge("one_off", description, int(quantity), unit))
    if not charges and not errors:
        errors["lines-0-description"] = _("Add at least one line.")
    if errors:
        raise InvalidChanges(errors)
    return charges


def issue_one_off(session: Session, *, actor: Actor, customer_id: int, lines: list[LineInput],
                  due_date: date | None, idempotency_key: str, at: Moment) -> Invoice:
    """Issue a one-off invoice (the customer's tax, `tax.tax_for`) and email it; one per form."""
    customer = get_customer(session, customer_id)
    existing = session.exec(select(Invoice).where(Invoice.customer_id == customer_id,
                                                  Invoice.idempotency_key == idempotency_key)).first()
    if existing is not None:
        return existing
    charges = _charges(lines, customer.currency)
    due = due_date or at.today + timedelta(days=INVOICE_DUE_DAYS)
    if due < at.today:
        raise InvalidChanges({"due_date": _("The due date cannot be before today.")})
    org = session.get(Organization, 1)
    priced = price(charges, tax=tax.tax_for(session, customer_id))
    if not priced.fits:
        raise InvalidChanges({"lines-0-quantity": _("The total is more than the portal can "
                                                    "hold: lower the quantities or prices.")})
    invoice = ledger.issue_invoice(
        session, customer_id=customer.id, currency=customer.currency, kind="one_off",
        priced=priced, issue_date=at.today, due_date=due, now=at.now,
        idempotency_key=idempotency_key)
    outbox.enqueue(session, template="invoice_issued", to=customer.email,
                   subject=_("Invoice %(number)s from %(org)s", number=invoice.number,
                             org=org.name), customer_id=customer.id,
                   context={"name": customer.display_name, "number": invoice.number,
                            "amount": invoice.total, "currency": invoice.currency,
                            "due_date": invoice.due_date.isoformat(),
                            "page": outbox.page("invoices.detail", invoice_id=invoice.id)},
                   now=at.now)
    audit.record(session, actor_user_id=actor.user_id, actor_label=actor.label,
                 action="invoice.create", subject_type="invoice", subject_id=invoice.id,
                 before={}, after={"number": invoice.number, "kind": "one_off",
                                   "total": invoice.total, "due_date": due},
                 now=at.now, customer_id=customer.id)
    return invoice


# --- Reading one invoice or payment ------------------------------------------------------------

@dataclass(frozen=True)
class PendingCharge:
    """A card payment holding the invoice while it waits for the gateway's outcome."""

    payment_id: int
    amount: int
    currency: str
    started_at: datetime
    started_by_person: bool  # the admin may ask the gateway about it (charges.resolve)


@dataclass(frozen=True)
class AdminInvoice:
    customer: Customer
    detail: invoices.InvoiceDetail
    pending: PendingCharge | None = None

    @property
    def can_void(self) -> bool:
        return self.detail.invoice.status == "open" and \
            self.detail.invoice.pending_payment_id is None


def invoice_view(session: Session, *, invoice_id: int, at: Moment) -> AdminInvoice:
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFound(_("No such invoice."))
    held = session.get(Payment, invoice.pending_payment_id) \
        if invoice.pending_payment_id else None
    pending = PendingCharge(held.id, held.amount, held.currency, held.created_at,
                            held.purpose not in charges.ENGINE_PURPOSES) \
        if held is not None and held.status == "pending" else None
    return AdminInvoice(session.get(Customer, invoice.customer_id),
                        invoices.invoice_detail(session, customer_id=invoice.customer_id,
                                                invoice_id=invoice_id, at=at), pending)


def pending_payment(session: Session, *, invoice_id: int) -> int:
    """The payment a person started that holds this invoice (NotFound if there is none)."""
    payment_id = charges.pending_of_invoice(session, invoice_id=invoice_id)
    if payment_id is None:
        raise NotFound(_("No payment is waiting on this invoice."))
    return payment_id


@dataclass(frozen=True)
class AdminPayment:
    customer: Customer
    receipt: payments.Receipt
    refunds: tuple[payments.PaymentRow, ...]
    refundable: int
    unapplied: int
    original: payments.PaymentRow | None  # for a refund: the payment it refunds

    @property
    def is_payment(self) -> bool:
        return self.receipt.payment.kind == "payment"

    @property
    def can_refund(self) -> bool:
        return self.is_payment and self.refundable > 0

    @property
    def can_credit(self) -> bool:
        return self.is_payment and self.unapplied > 0


def _payment(session: Session, payment_id: int) -> Payment:
    payment = session.get(Payment, payment_id)
    if payment is None or payment.status != "succeeded":
        raise NotFound(_("No such payment."))
    return payment


def payment_view(session: Session, *, payment_id: int) -> AdminPayment:
    payment = _payment(session, payment_id)
    refund_rows = session.exec(select(Payment).where(Payment.refund_of_id == payment.id,
                                                     Payment.status == "succeeded")
                               .order_by(Payment.id)).all()
    original = session.get(Payment, payment.refund_of_id) if payment.refund_of_id else None
    return AdminPayment(
        session.get(Customer, payment.customer_id),
        payments.receipt(session, customer_id=payment.customer_id, payment_id=payment.id),
        tuple(payments.PaymentRow.of(r) for r in refund_rows),
        refunds.refundable(session, payment) if payment.kind == "payment" else 0,
        refunds.unapplied(session, payment) if payment.kind == "payment" else 0,
        payments.PaymentRow.of(original) if original else None)


# --- Void -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Voided:
    invoice: Invoice
    credit_note: CreditNote | None
    credit_returned: int  # credit applied to it that went back to its notes


def void_invoice(session: Session, *, actor: Actor, invoice_id: int, reason: str,
                 at: Moment) -> Voided:
    """Void an open invoice; what was settled on it becomes the customer's credit again."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFound(_("No such invoice."))
    if invoice.status != "open":
        raise IllegalTransition(_(NOT_VOIDABLE[invoice.status], number=invoice.number)
                                if invoice.status in NOT_VOIDABLE else
                                f"Invoice {invoice.number} is {invoice.status}: only open "
                                f"invoices can be voided.")
    if invoice.pending_payment_id is not None:
        raise DomainError(_("A payment for this invoice is being processed; try again shortly."))
    why = " ".join((reason or "").split())[:300]
    given_back = _return_applied_credit(session, invoice)
    invoice.status, invoice.voided_on = "void", at.today
    session.flush()
    events.emit(session, "invoice.voided", events.public("invoice", invoice), now=at.now,
                previous={"status": "open"})
    # What was settled on it is credit again, and credit goes to the other open invoices.
    note = _paid_part_to_credit(session, invoice, at=at)
    for credit, _amount in given_back:
        ledger.apply_to_open_invoices(session, note=credit, on=at.today, now=at.now)
    returned = sum(amount for _, amount in given_back)
    session.flush()
    audit.record(session, actor_user_id=actor.user_id, actor_label=actor.label,
                 action="invoice.void", subject_type="invoice", subject_id=invoice.id,
                 before={"status": "open"},
                 after={"status": "void", "reason": why, "credit_returned": returned,
                        "credit_note": note.number if note else None},
                 now=at.now, customer_id=invoice.customer_id)
    return Voided(invoice, note, returned)


def _return_applied_credit(session: Session, invoice: Invoice) -> list[tuple[CreditNote, int]]:
    """Take the credit applied to the invoice off it: each note and the amount it got back."""
    returned = []
    for application in session.exec(select(CreditApplication).where(
            CreditApplication.invoice_id == invoice.id)):
        note = session.get(CreditNote, application.credit_note_id)
        note.balance += application.amount
        note.status = "open"
        returned.append((note, application.amount))
        session.delete(application)
    invoice.credits_applied = 0
    return returned


def _paid_part_to_credit(session: Session, invoice: Invoice, *, at: Moment) -> CreditNote | None:
    rows = session.exec(select(PaymentAllocation, Payment)
                        .join(Payment, Payment.id == PaymentAllocation.payment_id)
                        .where(PaymentAllocation.invoice_id == invoice.id,
                               Payment.status == "succeeded")
                        .order_by(PaymentAllocation.id)).all()
    total = sum(allocation.amount for allocation, _ in rows)
    if total <= 0:
        return None
    for allocation, payment in rows:
        # The allocation stays as history (it did pay this invoice); the refund row moves
        # its amount off the payment and onto the credit note.
        ledger.refund_row(session, payment, allocation.amount, method=TO_CREDIT,
                          reference=wording.write(wording.VOIDED_REFUND, number=invoice.number), at=at)
    return ledger.create_credit_note(
        session, customer_id=invoice.customer_id, currency=invoice.currency, total=total,
        reason=wording.write(wording.VOIDED_PART, number=invoice.number), issue_date=at.today, now=at.now,
        invoice_id=invoice.id, subscription_id=invoice.subscription_id)


# --- Offline payments -------------------------------------------------------------------------

@dataclass(frozen=True)
class OfflinePayment:
    amount: str
    method: str
    reference: str = ""
    paid_on: date | None = None
    invoice_ids: tuple[int, ...] = ()  # empty: the oldest open invoices first


def payable(session: Session, *, customer_id: int) -> list[Invoice]:
    """Open invoices a payment can go on now (none of them being charged at this moment)."""
    return [i for i in invoices.payable_invoices(session, customer_id=customer_id)
            if i.pending_payment_id is None]


def record_offline_payment(session: Session, *, actor: Actor, customer_id: int,
                           data: OfflinePayment, idempotency_key: str, at: Moment) -> Payment:
    """Record cash, a bank transfer or a cheque; allocated oldest first, receipt emailed."""
    customer = get_customer(session, customer_id)
    existing = session.exec(select(Payment).where(Payment.customer_id == customer_id,
                                                  Payment.idempotency_key == idempotency_key)).first()
    if existing is not None:
        return existing
    errors: dict[str, str] = {}
    try:
        amount = parse_money(data.amount or "", customer.currency)
        if amount <= 0:
            errors["amount"] = _("Enter an amount above zero.")
    except ValueError as exc:
        errors["amount"] = str(exc)
    if data.method not in OFFLINE_METHODS:
        errors["method"] = _("Choose cash, bank transfer or cheque.")
    reference = " ".join((data.reference or "").split())
    if len(reference) > 200:
        errors["reference"] = _("Use at most 200 characters.")
    paid_on = data.paid_on or at.today
    if paid_on > at.today:
        errors["paid_on"] = _("The payment date cannot be in the future.")
    open_invoices = payable(session, customer_id=customer_id)
    if set(data.invoice_ids) - {i.id for i in open_invoices}:
        errors["invoice_ids"] = _("Choose among the open invoices listed.")
    if errors:
        raise InvalidChanges(errors)
    chosen = [i for i in open_invoices if not data.invoice_ids or i.id in data.invoice_ids]
    payment = ledger.record_payment(
        session, customer_id=customer.id, amount=amount, currency=customer.currency,
        invoices=chosen, paid_on=paid_on, now=at.now, method=data.method, reference=reference,
        idempotency_key=idempotency_key)
    # The same effects as a card payment: receipt, the organization told, dunning cleared.
    payment.intent = {"invoice_ids": [i.id for i in chosen]}
    payment_effects.apply(session, payment=payment, now=at.now)
    audit.record(session, actor_user_id=actor.user_id, actor_label=actor.label,
                 action="payment.record", subject_type="payment", subject_id=payment.id,
                 before={}, after={"number": payment.number, "amount": amount,
                                   "method": data.method, "reference": reference,
                                   "paid_on": paid_on},
                 now=at.now, customer_id=customer.id)
    return payment


# --- Refunds and credit -----------------------------------------------------------------------

def _amount(session: Session, text: str, currency: str, most: int, too_much: str) -> int:
    """The typed amount, at most `most` (`too_much`: a msgid saying so, "%(most)s" in it)."""
    try:
        amount = parse_money(text or "", currency)
    except ValueError as exc:
        raise InvalidChanges({"amount": str(exc)}) from None
    if amount <= 0:
        raise InvalidChanges({"amount": _("Enter an amount above zero.")})
    if amount > most:  # the amount written where it is shown, in the page's locale
        raise InvalidChanges({"amount": dated(too_much, most=Amount(most, currency))})
    return amount


@dataclass(frozen=True)
class RefundAsked:
    payment: Payment
    value: int
    refundable: int


def check_refund(session: Session, *, payment_id: int, amount: str) -> RefundAsked:
    """The refund asked for, checked (InvalidChanges next to the amount) before anything is
    sent to the card processor."""
    payment = _payment(session, payment_id)
    if payment.kind != "payment":
        raise DomainError(_("A refund cannot be refunded."))
    before = refunds.refundable(session, payment)
    return RefundAsked(payment, _amount(session, amount, payment.currency, before,
                                        N_("At most %(most)s can be refunded.")), before)


def refund_payment(session: Session, *, actor: Actor, payment_id: int, amount: str,
                   reference: str, at: Moment, gateway_reference: str | None = None) -> Payment:
    """Give money back by the payment's own method; invoices it paid reopen if need be.

    A card payment made through a processor with refunds (Stripe) was refunded there first by
    the caller (`gateway_reference` is its refund id); any other money moves outside the portal
    (the bank, the cash box, the test gateway), and this records it in the ledger. A refund
    the processor's webhook recorded first is the one refund.
    """
    if gateway_reference:
        known = session.exec(select(Payment).where(Payment.kind == "refund",
                                                   Payment.gateway_reference == gateway_reference)
                             ).first()
        if known is not None:
            return known
    asked = check_refund(session, payment_id=payment_id, amount=amount)
    payment, value, before = asked.payment, asked.value, asked.refundable
    from_invoices = value - max(0, min(value, refunds.unapplied(session, payment)))
    refund = refunds.record(session, payment=payment, value=value, reference=reference, at=at,
                            gateway_reference=gateway_reference)
    audit.record(session, actor_user_id=actor.user_id, actor_label=actor.label,
                 action="payment.refund", subject_type="payment", subject_id=payment.id,
                 before={"refundable": before},
                 after={"refund": refund.number, "amount": value,
                        "reopened_invoices_by": from_invoices},
                 now=at.now, customer_id=payment.customer_id)
    return refund


def payment_to_credit(session: Session, *, actor: Actor, payment_id: int, amount: str,
                      at: Moment) -> CreditNote:
    """Turn the unapplied part of a payment into a credit note the next invoices use."""
    payment = _payment(session, payment_id)
    if payment.kind != "payment":
        raise DomainError(_("Only a payment can be turned into credit."))
    value = _amount(session, amount, payment.currency, refunds.unapplied(session, payment),
                    N_("At most %(most)s is on no invoice and can become credit."))
    note = ledger.payment_to_credit(session, payment=payment, amount=value, at=at,
                                    reason=wording.write(wording.PAYMENT_CREDIT, number=payment.number),
                                    reference=wording.write(wording.CREDIT_REFUND,
                                                            number=payment.number))
    audit.record(session, actor_user_id=actor.user_id, actor_label=actor.label,
                 action="payment.to_credit", subject_type="payment", subject_id=payment.id,
                 before={}, after={"credit_note": note.number, "amount": value}, now=at.now,
                 customer_id=payment.customer_id)
    return note
