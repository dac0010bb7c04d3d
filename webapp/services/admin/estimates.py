"""The organization's side of estimates: create and edit, send to the customer, reply.

Lines are priced with services/pricing.py (tax per line, half-up), the same way as invoices.
Only drafts and sent estimates can be edited; a decided estimate is a record of the decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from webapp.models import Customer, Estimate, EstimateLine, Organization
from webapp.services.billing import tax
from webapp.services.billing.pricing import Charge, price
from webapp.services.core import numbering, outbox
from webapp.services.core.dates import Moment
from webapp.services.core.errors import IllegalTransition, InvalidInput, NotFound
from webapp.services.core.i18n import N_, _, ngettext
from webapp.services.core.money import parse_money, to_decimal
from webapp.services.engagement import comments
from webapp.services.engagement.comments import CommentView
from webapp.services.engagement.estimates import (
    DRAFT,
    SENT,
    STATUS_FILTERS,
    EstimateDetail,
    EstimateRow,
    detail_of,
    lines_of,
    status_condition,
    subject_of,
)

MAX_LINES = 50
EDITABLE = (DRAFT, SENT)
# Why a decided estimate cannot change, by its status.
LOCKED = {"accepted": N_("Estimate %(number)s was accepted; it can no longer be changed."),
          "declined": N_("Estimate %(number)s was declined; it can no longer be changed."),
          "expired": N_("Estimate %(number)s was expired; it can no longer be changed.")}


@dataclass(frozen=True)
class LineInput:
    """A line as typed; rows with nothing typed are left out."""

    description: str
    quantity: str
    unit_price: str

    @property
    def blank(self) -> bool:
        return not any((self.description or "").strip() + (self.quantity or "").strip()
                       + (self.unit_price or "").strip())


@dataclass(frozen=True)
class EstimateInput:
    subject: str
    issue_date: date | None
    expiry_date: date | None
    notes: str
    lines: tuple[LineInput, ...]


@dataclass(frozen=True)
class _Line:
    description: str
    quantity: int
    unit_amount: int


@dataclass(frozen=True)
class AdminEstimateRow:
    row: EstimateRow
    customer_id: int
    customer_name: str


def list_estimates(session: Session, *, at: Moment, customer_id: int | None = None,
                   status: str | None = None) -> tuple[AdminEstimateRow, ...]:
    """Every customer's estimates (drafts too), newest first; one query."""
    query = select(Estimate, Customer.display_name).join(
        Customer, Customer.id == Estimate.customer_id)
    if customer_id is not None:
        query = query.where(Estimate.customer_id == customer_id)
    if status == DRAFT:
        query = query.where(Estimate.status == DRAFT)
    elif status in STATUS_FILTERS:
        query = query.where(status_condition(status, at.today))
    rows = session.exec(query.order_by(col(Estimate.issue_date).desc(),
                                       col(Estimate.id).desc()).limit(500))
    return tuple(AdminEstimateRow(EstimateRow.of(e, at.today), e.customer_id, name)
                 for e, name in rows)


def get_estimate(session: Session, estimate_id: int) -> Estimate:
    estimate = session.get(Estimate, estimate_id)
    if estimate is None:
        raise NotFound(_("No such estimate."))
    return estimate


@dataclass(frozen=True)
class AdminEstimateDetail:
    detail: EstimateDetail
    customer: Customer

    @property
    def editable(self) -> bool:
        return self.detail.estimate.status in EDITABLE

    @property
    def sendable(self) -> bool:
        return self.detail.estimate.status == DRAFT


def estimate_detail(session: Session, *, estimate_id: int, at: Moment) -> AdminEstimateDetail:
    """Any estimate with its customer, lines and thread."""
    estimate = get_estimate(session, estimate_id)
    return AdminEstimateDetail(detail_of(session, estimate, at),
                               session.get(Customer, estimate.customer_id))


def _line(number: int, line: LineInput, currency: str) -> _Line:
    description = " ".join((line.description or "").split())
    if not description:
        raise InvalidInput(_("Line %(number)d: describe the item.", number=number),
                           field="lines")
    quantity = (line.quantity or "1").strip()
    if not quantity.isdigit() or not 1 <= int(quantity) <= 1_000_000:
        raise InvalidInput(_("Line %(number)d: the quantity is a whole number of at least 1.",
                             number=number), field="lines")
    try:
        unit_amount = parse_money(line.unit_price or "", currency)
    except ValueError as exc:
        raise InvalidInput(_("Line %(number)d: %(reason)s", number=number, reason=exc),
                           field="lines") from None
    return _Line(description[:500], int(quantity), unit_amount)


def _check(data: EstimateInput, currency: str) -> list[_Line]:
    """The typed lines parsed in the customer's currency; InvalidInput on the first problem."""
    if data.issue_date is None:
        raise InvalidInput(_("Enter the estimate's date."), field="issue_date")
    if data.expiry_date is None:
        raise InvalidInput(_("Enter the date the estimate is valid until."), field="expiry_date")
    if data.expiry_date < data.issue_date:
        raise InvalidInput(_("The expiry date cannot be before the estimate date."),
                           field="expiry_date")
    typed = [(n, line) for n, line in enumerate(data.lines, 1) if not line.blank]
    if not typed:
        raise InvalidInput(_("Add at least one line."), field="lines")
    if len(typed) > MAX_LINES:
        raise InvalidInput(ngettext("An estimate has at most %(num)d line.",
                                    "An estimate has at most %(num)d lines.", MAX_LINES),
                           field="lines")
    return [_line(n, line, currency) for n, line in typed]


def _write_lines(session: Session, estimate: Estimate, lines: list[_Line],
                 tax_: tax.Tax) -> None:
    priced = price([Charge("one_off", line.description, line.quantity, line.unit_amount)
                    for line in lines], tax=tax_)
    if not priced.fits:
        raise InvalidInput(_("The total is more than the portal can hold: lower the quantities "
                             "or prices."), field="lines")
    session.execute(delete(EstimateLine).where(EstimateLine.estimate_id == estimate.id))
    for position, line in enumerate(priced.lines):
        session.add(EstimateLine(estimate_id=estimate.id, position=position,
                                 description=line.description, quantity=line.quantity,
                                 unit_amount=line.unit_amount, amount=line.amount,
                                 tax_amount=line.tax_amount, tax_rate_bp=priced.tax_rate_bp,
                                 tax_label=priced.tax_label, tax_basis=line.amount))
    estimate.subtotal, estimate.tax_total, estimate.total, estimate.tax_rate_bp = (
        priced.subtotal, priced.tax_total, priced.total, priced.tax_rate_bp)
    estimate.tax_note = priced.tax_note


def create_estimate(session: Session, *, customer_id: int | None, data: EstimateInput,
                    now: datetime) -> Estimate:
    """A draft estimate for a customer, in their currency, numbered EST-000001 onwards."""
    customer = session.get(Customer, customer_id) if customer_id else None
    if customer is None:
        raise InvalidInput(_("Choose a customer."), field="customer_id")
    lines = _check(data, customer.currency)
    estimate = Estimate(number=numbering.take_one(session, "estimate"), customer_id=customer.id,
                        currency=customer.currency, status=DRAFT,
                        subject=(data.subject or "").strip()[:200],
                        issue_date=data.issue_date, expiry_date=data.expiry_date,
                        notes=(data.notes or "").strip(), created_at=now, updated_at=now)
    session.add(estimate)
    session.flush()
    _write_lines(session, estimate, lines, tax.tax_for(session, customer.id))
    session.flush()
    return estimate


def update_estimate(session: Session, *, estimate_id: int, data: EstimateInput,
                    now: datetime) -> Estimate:
    """Change a draft or sent estimate; decided ones are refused."""
    estimate = get_estimate(session, estimate_id)
    if estimate.status not in EDITABLE:
        raise IllegalTransition(_(LOCKED[estimate.status], number=estimate.number)
                                if estimate.status in LOCKED else
                                f"Estimate {estimate.number} was {estimate.status}; "
                                "it can no longer be changed.")
    lines = _check(data, estimate.currency)
    estimate.subject, estimate.issue_date, estimate.expiry_date, estimate.notes = (
        (data.subject or "").strip()[:200], data.issue_date, data.expiry_date,
        (data.notes or "").strip())
    estimate.updated_at = now
    _write_lines(session, estimate, lines, tax.tax_for(session, estimate.customer_id))
    session.flush()
    return estimate


def send_estimate(session: Session, *, estimate_id: int, now: datetime) -> Estimate:
    """Draft -> sent: the customer sees it in the portal and gets an email with the link."""
    estimate = get_estimate(session, estimate_id)
    result = session.execute(update(Estimate)
                             .where(Estimate.id == estimate_id, Estimate.status == DRAFT)
                             .values(status=SENT, sent_at=now, updated_at=now)
                             .execution_options(synchronize_session=False))
    session.refresh(estimate)
    if result.rowcount != 1:
        raise IllegalTransition(_("Estimate %(number)s was sent already.",
                                  number=estimate.number))
    customer = session.get(Customer, estimate.customer_id)
    org = session.get(Organization, 1)
    outbox.enqueue(session, template="estimate_sent", to=customer.email,
                   subject=_("Estimate %(number)s from %(org)s", number=estimate.number,
                             org=org.name),
                   context={"name": customer.display_name, "number": estimate.number,
                            "estimate_subject": estimate.subject,
                            "expiry_date": estimate.expiry_date.isoformat(),
                            "page": outbox.page("estimates.detail", estimate_id=estimate.id)},
                   now=now, customer_id=customer.id)
    return estimate


def reply(session: Session, *, estimate_id: int, user_id: int | None, body: str,
          now: datetime) -> tuple[CommentView, ...]:
    """An admin replies on an estimate's thread (the customer is emailed if preferred)."""
    estimate = get_estimate(session, estimate_id)
    if estimate.status == DRAFT:
        raise IllegalTransition(_("The customer cannot see a draft: send it before replying."))
    org = session.get(Organization, 1)
    return comments.add_admin_reply(session, subject_of(estimate), user_id=user_id,
                                    organization_name=org.name, body=body, now=now)


def typed_lines(session: Session, *, estimate_id: int) -> tuple[LineInput, ...]:
    """An estimate's lines as the edit form shows them (prices in major units)."""
    estimate = get_estimate(session, estimate_id)
    return tuple(LineInput(line.description, str(line.quantity),
                           f"{to_decimal(line.unit_amount, estimate.currency):f}")
                 for line in lines_of(session, estimate.id))
