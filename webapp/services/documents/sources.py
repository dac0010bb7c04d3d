"""Documents: the customer's invoices, credit notes and receipts (and, through engagement/,
estimates and message attachments) loaded for rendering by core.pdf, by kind.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlmodel import Session

from webapp.models import Customer, Organization
from webapp.services.billing import credits, invoices
from webapp.services.core import brand
from webapp.services.core.dates import Moment
from webapp.services.core.pdf import Document, DocumentSource, PageUrl, filename_for
from webapp.services.engagement import estimates, messages
from webapp.services.payments import history


def _parties(session: Session, customer_id: int) -> dict[str, Any]:
    return {"org": session.get(Organization, 1), "customer": session.get(Customer, customer_id),
            "logo": brand.logo_data_uri(session)}


def invoice_source(session: Session, *, customer_id: int, invoice_id: int,
                   at: Moment, page_url: PageUrl | None = None) -> DocumentSource:
    """The customer's invoice, loaded for rendering (NotFound if it is not theirs). While it
    is payable it links to its page ("Pay online"; the page asks the customer to sign in),
    when `page_url` builds the address (every caller but a test without links passes it)."""
    detail = invoices.invoice_detail(session, customer_id=customer_id, invoice_id=invoice_id,
                                     at=at)
    pay_url = (page_url("invoices.detail", {"invoice_id": invoice_id})
               if page_url is not None and detail.row.payable else None)
    return DocumentSource("print/invoice.html",
                          {**_parties(session, customer_id), "detail": detail,
                           "pay_url": pay_url},
                          filename_for(detail.invoice.number))


def credit_note_source(session: Session, *, customer_id: int, credit_note_id: int,
                       at: Moment | None = None) -> DocumentSource:
    """The customer's credit note, loaded for rendering (NotFound if it is not theirs)."""
    detail = credits.credit_detail(session, customer_id=customer_id,
                                   credit_note_id=credit_note_id)
    return DocumentSource("print/credit_note.html",
                          {**_parties(session, customer_id), "detail": detail},
                          filename_for(detail.row.number))


def receipt_source(session: Session, *, customer_id: int, payment_id: int,
                   at: Moment | None = None) -> DocumentSource:
    """A receipt of one of the customer's payments, loaded (NotFound if not theirs)."""
    receipt = history.receipt(session, customer_id=customer_id, payment_id=payment_id)
    return DocumentSource("print/receipt.html",
                          {**_parties(session, customer_id), "receipt": receipt},
                          filename_for(receipt.payment.number or f"payment-{payment_id}"))


def invoice_pdf(session: Session, *, customer_id: int, invoice_id: int,
                at: Moment, page_url: PageUrl | None = None) -> Document:
    """The customer's invoice as a PDF (NotFound if it is not theirs)."""
    return invoice_source(session, customer_id=customer_id, invoice_id=invoice_id,
                          at=at, page_url=page_url).render()


def credit_note_pdf(session: Session, *, customer_id: int, credit_note_id: int,
                    at: Moment | None = None) -> Document:
    """The customer's credit note as a PDF (NotFound if it is not theirs)."""
    return credit_note_source(session, customer_id=customer_id,
                              credit_note_id=credit_note_id).render()


def receipt_pdf(session: Session, *, customer_id: int, payment_id: int,
                at: Moment | None = None) -> Document:
    """The receipt of one of the customer's payments as a PDF (NotFound if not theirs)."""
    return receipt_source(session, customer_id=customer_id, payment_id=payment_id).render()


# Document kinds that can be downloaded one by one, forwarded, attached and packed.
# Each loader takes (session, customer_id, document_id, at, page_url).
SOURCES: dict[str, Callable[..., DocumentSource]] = {
    "invoice": lambda session, customer_id, document_id, at, page_url: invoice_source(
        session, customer_id=customer_id, invoice_id=document_id, at=at, page_url=page_url),
    "credit_note": lambda session, customer_id, document_id, at, page_url: credit_note_source(
        session, customer_id=customer_id, credit_note_id=document_id),
    "receipt": lambda session, customer_id, document_id, at, page_url: receipt_source(
        session, customer_id=customer_id, payment_id=document_id),
    # Issue 11: estimates, and the files customers attach to "send us an email".
    "estimate": lambda session, customer_id, document_id, at, page_url:
        estimates.estimate_source(session, customer_id=customer_id, estimate_id=document_id,
                                  at=at),
    "message_attachment": lambda session, customer_id, document_id, at, page_url:
        messages.attachment_source(session, customer_id=customer_id, message_id=document_id),
}


def document_source(session: Session, *, kind: str, customer_id: int, document_id: int,
                    at: Moment, page_url: PageUrl | None = None) -> DocumentSource:
    """Any one document by kind ("invoice", "credit_note", "receipt"), loaded."""
    try:
        load = SOURCES[kind]
    except KeyError:
        raise ValueError(f"unknown document kind {kind!r}") from None
    return load(session, customer_id, document_id, at, page_url)


def document_pdf(session: Session, *, kind: str, customer_id: int, document_id: int,
                 at: Moment, page_url: PageUrl | None = None) -> Document:
    """Any one document by kind ("invoice", "credit_note", "receipt"); NotFound if not theirs."""
    return document_source(session, kind=kind, customer_id=customer_id,
                           document_id=document_id, at=at, page_url=page_url).render()


def attachment(session: Session, *, kind: str, document_id: int, customer_id: int | None,
               now: datetime, page_url: PageUrl | None = None) -> Document:
    """The document an outbox row attaches, rendered as it stands when the mail is sent."""
    if customer_id is None:
        raise ValueError("an attached document belongs to a customer")
    org = session.get(Organization, 1)
    return document_pdf(session, kind=kind, customer_id=customer_id, document_id=document_id,
                        at=Moment.at(now, org.timezone if org else None), page_url=page_url)
