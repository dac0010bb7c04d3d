"""Forwarding documents by email: an invoice, credit note or receipt to contact persons and
typed addresses, with a message.

One outbox row per recipient, written in the caller's transaction with a reference to the
document (attachment_kind/attachment_id); the sender job renders the PDF when it sends, so a
Redis outage delays the mail and loses none, and every copy carries the row's one Message-ID.
Customers may forward only while the "documents.forward" preference is on, to at most
MAX_RECIPIENTS addresses at once and the preference's number of recipients an hour.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import ScalarSelect, Select, bindparam, case, func
from sqlmodel import Session, select

from webapp.models import (
    ContactPerson,
    CreditNote,
    Customer,
    DocumentForward,
    DocumentForwardRecipient,
    Estimate,
    Invoice,
    Organization,
    OutboxMessage,
    Payment,
)
from webapp.services.accounts import request_facts
from webapp.services.billing import invoices
from webapp.services.core import outbox, preferences
from webapp.services.core.errors import InvalidInput, NotFound
from webapp.services.core.i18n import N_, _, ngettext
from webapp.services.core.listing import one_of, read
from webapp.services.core.stacked import Stack
from webapp.services.engagement import estimates
from webapp.services.payments import history

MAX_RECIPIENTS = 10
MAX_MESSAGE = 2000
RATE_WINDOW = timedelta(hours=1)
KIND_LABELS = {"invoice": _("Invoice"), "credit_note": _("Credit note"),
               "receipt": _("Payment receipt"), "estimate": _("Estimate")}
# A forwarded document's mail subject, in its reader's language (outbox.enqueue).
FORWARD_SUBJECTS = {"invoice": N_("Invoice %(number)s from %(org)s"),
                    "credit_note": N_("Credit note %(number)s from %(org)s"),
                    "receipt": N_("Payment receipt %(number)s from %(org)s"),
                    "estimate": N_("Estimate %(number)s from %(org)s")}
STATUS_LABELS = {outbox.PENDING: _("Queued"), outbox.SENDING: _("Sending"),
                 outbox.SENT: _("Sent"), outbox.FAILED: _("Not delivered")}
_SEPARATORS = re.compile(r"[\s,;]+")


@dataclass(frozen=True)
class ContactOption:
    id: int
    name: str
    email: str


@dataclass(frozen=True)
class ForwardTarget:
    """The document being forwarded, and who the customer can pick."""

    kind: str
    document_id: int
    label: str
    number: str
    contacts: tuple[ContactOption, ...]


def _document_number(session: Session, customer_id: int, kind: str, document_id: int) -> str:
    if kind == "invoice":
        return invoices.owned_invoice(session, customer_id, document_id).number
    if kind == "credit_note":
        note = session.get(CreditNote, document_id)
        if note is None or note.customer_id != customer_id:
            raise NotFound(_("No such credit note."))
        return note.number
    if kind == "receipt":
        return history.owned_payment(session, customer_id, document_id).number
    if kind == "estimate":
        return estimates.owned_estimate(session, customer_id, document_id).number
    raise ValueError(f"unknown document kind {kind!r}")


def target(session: Session, *, customer_id: int, kind: str, document_id: int) -> ForwardTarget:
    """The customer's document to forward (NotFound if not theirs) and their contact persons."""
    number = _document_number(session, customer_id, kind, document_id)
    contacts = session.exec(select(ContactPerson).where(ContactPerson.customer_id == customer_id)
                            .order_by(ContactPerson.name, ContactPerson.id)).all()
    return ForwardTarget(kind, document_id, KIND_LABELS[kind], number,
                         tuple(ContactOption(c.id, c.name, c.email) for c in contacts))


def parse_addresses(text: str) -> list[str]:
    """Typed addresses, separated by commas, semicolons, spaces or new lines; each checked."""
    addresses = []
    for candidate in _SEPARATORS.split(text or ""):
        if not candidate:
            continue
        try:
            addresses.append(validate_email(candidate, check_deliverability=False).normalized)
        except EmailNotValidError:
            raise InvalidInput(_("“%(address)s” is not an email address.",
                                 address=candidate[:80]), field="addresses") from None
    return addresses


def _serialise_forwards(session: Session, customer_id: int) -> None:
    """Lock the customer's row until this transaction ends, so the hour's count below and the
    recipients written after it are one step: a parallel forward of the same customer waits
    here, then counts these too. (PostgreSQL; a SQLite write already holds the database's one
    write lock from BEGIN.) NO KEY UPDATE leaves rows that merely reference the customer free
    to be written meanwhile."""
    session.exec(select(Customer.id).where(Customer.id == customer_id)
                 .with_for_update(key_share=True)).one()


def recent_recipients(session: Session, *, customer_id: int, now: datetime) -> int:
    """How many recipients the customer forwarded to in the last hour."""
    return int(session.exec(select(func.count()).select_from(DocumentForwardRecipient)
                            .where(DocumentForwardRecipient.customer_id == customer_id,
                                   DocumentForwardRecipient.created_at > now - RATE_WINDOW))
               .one())


def _recipients(contacts: Iterable[ContactOption],
                typed: Iterable[str]) -> list[tuple[str, int | None]]:
    """(address, contact id) once per address, contacts first, in the order chosen."""
    seen: set[str] = set()
    chosen = []
    for address, contact_id in [*((c.email, c.id) for c in contacts),
                                *((a, None) for a in typed)]:
        if address.lower() not in seen:
            seen.add(address.lower())
            chosen.append((address, contact_id))
    return chosen


@dataclass(frozen=True)
class ForwardResult:
    forward_id: int
    recipients: tuple[str, ...]


def forward(session: Session, *, customer_id: int, user_id: int | None, kind: str,
            document_id: int, contact_ids: Iterable[int], addresses: str, message: str,
            now: datetime) -> ForwardResult:
    """Forward one of the customer's documents: one outbox row per recipient, with the PDF
    attached when it is sent."""
    prefs = preferences.load(session)
    preferences.require(prefs, preferences.DOCUMENTS_FORWARD)
    document = target(session, customer_id=customer_id, kind=kind, document_id=document_id)
    by_id = {c.id: c for c in document.contacts}
    wanted = list(dict.fromkeys(contact_ids))
    if any(contact_id not in by_id for contact_id in wanted):
        raise InvalidInput(_("Choose from your contact persons."), field="contacts")
    recipients = _recipients([by_id[i] for i in wanted], parse_addresses(addresses))
    if not recipients:
        raise InvalidInput(_("Choose a contact person or type an address."), field="contacts")
    if len(recipients) > MAX_RECIPIENTS:
        raise InvalidInput(ngettext("Forward to at most %(num)d recipient at a time.",
                                    "Forward to at most %(num)d recipients at a time.",
                                    MAX_RECIPIENTS), field="addresses")
    _serialise_forwards(session, customer_id)
    left = prefs.forward_max_recipients_per_hour - recent_recipients(
        session, customer_id=customer_id, now=now)
    if len(recipients) > left:
        raise InvalidInput(ngettext("You can forward to %(num)d more recipient(s) this hour.",
                                    "You can forward to %(num)d more recipient(s) this hour.",
                                    max(left, 0)), field="addresses")
    message = (message or "").strip()
    if len(message) > MAX_MESSAGE:
        raise InvalidInput(ngettext("Keep the message under %(num)d character.",
                                    "Keep the message under %(num)d characters.", MAX_MESSAGE),
                           field="message")
    return _write(session, customer_id=customer_id, user_id=user_id, document=document,
                  recipients=recipients, message=message, now=now)


def _write(session: Session, *, customer_id: int, user_id: int | None,
           document: ForwardTarget, recipients: list[tuple[str, int | None]], message: str,
           now: datetime) -> ForwardResult:
    customer = session.get(Customer, customer_id)
    org = session.get(Organization, 1)
    sender = customer.company or customer.display_name
    row = DocumentForward(customer_id=customer_id, user_id=user_id, kind=document.kind,
                          document_id=document.document_id, message=message, created_at=now)
    session.add(row)
    session.flush()
    # The kind picks the mail's sentences (mail/document_forward.*: one for each kind).
    context = {"document_label": str(document.label), "kind": document.kind,
               "number": document.number, "sender": sender, "sender_email": customer.email,
               "message": message}
    subject = _(FORWARD_SUBJECTS[document.kind], number=document.number,
                org=org.name if org else sender)
    for address, contact_id in recipients:
        mail = outbox.enqueue(session, template="document_forward", to=address, subject=subject,
                              context=context, now=now, reply_to=customer.email,
                              customer_id=customer_id, attachment_kind=document.kind,
                              attachment_id=document.document_id)
        session.add(DocumentForwardRecipient(forward_id=row.id, customer_id=customer_id,
                                             address=address, contact_person_id=contact_id,
                                             outbox_message_id=mail.id, created_at=now))
    session.flush()
    return ForwardResult(row.id, tuple(address for address, _ in recipients))


@dataclass(frozen=True)
class RecipientStatus:
    address: str
    status: str
    label: str


@dataclass(frozen=True)
class ForwardStatus:
    id: int
    kind: str
    document_id: int
    label: str
    number: str
    message: str
    created_at: datetime
    recipients: tuple[RecipientStatus, ...]

    @property
    def waiting(self) -> bool:
        """Some mail is still queued or being sent (the page keeps polling)."""
        return any(r.status in (outbox.PENDING, outbox.SENDING) for r in self.recipients)


def _number_of(model, *visible) -> ScalarSelect:
    """The forwarded document's number while it is still the customer's to see."""
    return (select(model.number)
            .where(model.id == _FORWARDS.c.document_id,
                   model.customer_id == _FORWARDS.c.customer_id, *visible)
            .scalar_subquery())


_FORWARDS, _RECIPIENTS = DocumentForward.__table__, DocumentForwardRecipient.__table__


def _status_statement(customer) -> Select:
    """A forward, its document's number and each recipient's mail status: one read (htmx
    polls this every second while mail is queued). The number follows the rules of the
    documents' own pages (owned_invoice, owned_payment, owned_estimate). `customer`: a
    parameter, or the login's own customer (`request_facts.SIGNED_IN_CUSTOMER`)."""
    return (
        select(_FORWARDS.c.id, _FORWARDS.c.kind, _FORWARDS.c.document_id, _FORWARDS.c.message,
               _FORWARDS.c.created_at,
               case((_FORWARDS.c.kind == "invoice", _number_of(Invoice)),
                    (_FORWARDS.c.kind == "credit_note", _number_of(CreditNote)),
                    (_FORWARDS.c.kind == "receipt",
                     _number_of(Payment, one_of(Payment.status, history.VISIBLE))),
                    (_FORWARDS.c.kind == "estimate",
                     _number_of(Estimate, Estimate.status != estimates.DRAFT))).label("number"),
               _RECIPIENTS.c.address, OutboxMessage.status)
        .select_from(_FORWARDS.outerjoin(_RECIPIENTS, _RECIPIENTS.c.forward_id == _FORWARDS.c.id)
                     .outerjoin(OutboxMessage,
                                OutboxMessage.id == _RECIPIENTS.c.outbox_message_id))
        .where(_FORWARDS.c.id == bindparam("forward_id"), _FORWARDS.c.customer_id == customer)
        .order_by(_RECIPIENTS.c.id))


STATUS_STATEMENT = _status_statement(bindparam("customer_id"))
# The same read, sent in the login's statement (the polled fragment's one round trip).
_STATUS_RIDING = Stack(forward=request_facts.riding(
    _status_statement(request_facts.SIGNED_IN_CUSTOMER)))


def status_rider(forward_id: int) -> request_facts.Rider:
    """`status`'s read, to send along with the login's (`login.reads_along`)."""
    return request_facts.Rider(_STATUS_RIDING, {"forward_id": forward_id})


def status(session: Session, *, customer_id: int, forward_id: int,
           ridden: Mapping[str, list] | None = None) -> ForwardStatus:
    """Where each recipient's mail of one of the customer's forwards has got to; from
    `ridden` when `status_rider`'s read came with the login."""
    if ridden is not None:
        found = ridden["forward"]
    else:
        found = read(session, STATUS_STATEMENT,
                     {"customer_id": customer_id, "forward_id": forward_id}).all()
    if not found or found[0].number is None:
        raise NotFound(_("No such forward."))
    row = found[0]
    return ForwardStatus(row.id, row.kind, row.document_id, KIND_LABELS[row.kind], row.number,
                         row.message, row.created_at,
                         tuple(RecipientStatus(r.address, r.status, STATUS_LABELS[r.status])
                               for r in found if r.address is not None))
