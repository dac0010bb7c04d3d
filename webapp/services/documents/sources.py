"""Documents: PDFs of invoices, credit notes and receipts, rendered with xhtml2pdf.

No Flask here: a job renders documents without an app, so the Jinja environment is our own,
made on first use with the app's loader roots (webapp/templates, then webapp/) so the PDF
templates under print/ include the same fragments as the pages (documents/*.html). HTML is
autoescaped: customer text (names, line descriptions, reasons) cannot add markup.

A document may load files only from webapp/static: `resolve_resource` is the link_callback
and refuses every URL and any path outside static by raising, and an xhtml2pdf
`ResourceAccessPolicy` rooted at static with the network off backs it up on the paths that
do not go through the callback. Our templates ask for nothing else, so a refusal is a bug to
see, not something to skip quietly.

The font (DejaVu Sans from webapp/static/fonts, so €, ¥, ₹ and د.ك have glyphs) is registered
with ReportLab once per process as FONT_FAMILY, which the print templates name, instead of an
@font-face in every document: that made xhtml2pdf re-read and hash both font files and parse
the rules again on every render, a fixed cost that dominated short documents.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import ShowBoundaryValue
from sqlmodel import Session
from xhtml2pdf import default as xhtml2pdf_default
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import ResourceAccessError, ResourceAccessPolicy

from webapp.models import Customer, Organization
from webapp.services.billing import credits, invoices
from webapp.services.core.dates import today_in
from webapp.services.core.money import format_money
from webapp.services.payments import history

log = logging.getLogger("portal.documents")

WEBAPP_DIR = Path(__file__).resolve().parent.parent
STATIC_DIR = (WEBAPP_DIR / "static").resolve()
PDF_MEDIA_TYPE = "application/pdf"

# Backs up `resolve_resource` on the fetches that bypass link_callback: static only, no network.
RESOURCE_POLICY = ResourceAccessPolicy.server(base_dir=STATIC_DIR, allow_remote=False)

# The documents' font family (print/base.html names it). Not "DejaVuSans": a document with its
# own @font-face for that family would remap the family's bold to its regular face.
FONT_FAMILY = "PortalDejaVuSans"
FONT_FILES = {FONT_FAMILY: "fonts/DejaVuSans.ttf",
              f"{FONT_FAMILY}-Bold": "fonts/DejaVuSans-Bold.ttf"}


class ResourceRefused(ResourceAccessError):
    """A document asked for a file outside webapp/static, or for a URL."""


class RenderFailed(RuntimeError):
    """xhtml2pdf reported errors while building a PDF."""


def resolve_resource(uri: str, rel: str | None = None) -> str:
    """link_callback: the file under webapp/static that `uri` names; anything else is refused.

    Accepts a path relative to static ("fonts/DejaVuSans.ttf") or the app's URL for it
    ("/static/fonts/DejaVuSans.ttf"). Any scheme (http, file, data, ...) is refused.
    """
    parts = urlsplit(str(uri))
    if parts.scheme or parts.netloc:
        _refuse(uri, "URLs are not allowed")
    path = unquote(parts.path)
    path = path.removeprefix("/static/")
    if not path or path.startswith(("/", "\\")):
        _refuse(uri, "only paths under webapp/static are allowed")
    candidate = (STATIC_DIR / path).resolve()
    if not candidate.is_relative_to(STATIC_DIR):
        _refuse(uri, "the path leaves webapp/static")
    if not candidate.is_file():
        _refuse(uri, "no such file in webapp/static")
    return str(candidate)


def _refuse(uri: str, why: str) -> None:
    log.warning("document resource refused: %r (%s)", str(uri)[:200], why)
    raise ResourceRefused(f"{str(uri)[:200]!r}: {why}")


# --- Rendering -------------------------------------------------------------------------------

def _org_locale(context) -> str:
    org = context.get("org")
    return org.locale if org else "en_US"


@pass_context
def _money(context, amount: int | None, currency: str) -> str:
    return "" if amount is None else format_money(amount, currency, _org_locale(context))


@pass_context
def _localdate(context, value: datetime | date | None, fmt: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        org = context.get("org")
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        value = aware.astimezone(ZoneInfo(org.timezone if org else "UTC")).date()
    return _format_date(value, fmt, _org_locale(context))


# A statement repeats the same days row after row, and Babel parses the locale on every call:
# most of the time a long statement spent in Jinja.
@lru_cache(maxsize=4096)
def _format_date(value: date, fmt: str, locale: str) -> str:
    return format_date(value, format=fmt, locale=locale)


@cache
def environment() -> Environment:
    """The documents' Jinja environment: the app's loader roots, autoescaped, strict."""
    env = Environment(loader=FileSystemLoader([WEBAPP_DIR / "templates", WEBAPP_DIR]),
                      autoescape=True, undefined=StrictUndefined)
    env.filters["money"] = _money
    env.filters["localdate"] = _localdate
    return env


def render_html(template: str, context: Mapping[str, Any], *,
                env: Environment | None = None) -> str:
    """A document template as HTML (what the PDF is made from)."""
    return (env or environment()).get_template(template).render(context)


@cache
def register_fonts() -> str:
    """Register FONT_FAMILY (regular and bold, from webapp/static) with ReportLab and xhtml2pdf,
    once per process; returns the family name. ReportLab embeds the glyphs each PDF uses."""
    for name, path in FONT_FILES.items():
        pdfmetrics.registerFont(TTFont(name, resolve_resource(path)))
    for bold in (0, 1):
        for italic in (0, 1):
            addMapping(FONT_FAMILY, bold, italic, f"{FONT_FAMILY}-Bold" if bold else FONT_FAMILY)
    # Every xhtml2pdf document starts from a copy of this table of known families.
    xhtml2pdf_default.DEFAULT_FONT[FONT_FAMILY.lower()] = FONT_FAMILY
    return FONT_FAMILY


def _share_when_deep_copied(value, memo):
    return value


# ReportLab deep-copies the frame it is filling each time it measures a table cell
# (flowables._listWrapOn), and a frame made from an @page rule (all of ours: margins and the
# footer) holds a ShowBoundaryValue, which deepcopy took apart and rebuilt every time: a tenth
# of a long statement's render. Nothing changes one after it is made, so a copy may share it.
if "__deepcopy__" not in vars(ShowBoundaryValue):
    ShowBoundaryValue.__deepcopy__ = _share_when_deep_copied


def html_to_pdf(html: str) -> bytes:
    """PDF bytes from HTML; relative resources resolve against webapp/static."""
    register_fonts()
    out = BytesIO()
    result = pisa.CreatePDF(html, dest=out, encoding="utf-8", link_callback=resolve_resource,
                            resource_policy=RESOURCE_POLICY, path=str(STATIC_DIR / "document"))
    if result.err:
        raise RenderFailed(f"xhtml2pdf reported {result.err} error(s)")
    return out.getvalue()


def render_pdf(template: str, context: Mapping[str, Any], *,
               env: Environment | None = None) -> bytes:
    """Render a print/ template to PDF bytes."""
    return html_to_pdf(render_html(template, context, env=env))


# --- The documents --------------------------------------------------------------------------

@dataclass(frozen=True)
class Document:
    """A rendered file, with the name a download should get."""

    filename: str
    content: bytes
    media_type: str = PDF_MEDIA_TYPE


_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")


def filename_for(number: str, extension: str = "pdf") -> str:
    """INV-000123 -> INV-000123.pdf (anything but letters, digits, . _ - becomes -)."""
    return f"{_UNSAFE_FILENAME.sub('-', number).strip('-') or 'document'}.{extension}"


def _parties(session: Session, customer_id: int) -> dict[str, Any]:
    return {"org": session.get(Organization, 1), "customer": session.get(Customer, customer_id)}


@dataclass(frozen=True)
class DocumentSource:
    """A document with everything it shows loaded: rendering it needs no database."""

    template: str
    context: Mapping[str, Any]
    filename: str

    def render(self) -> Document:
        return Document(self.filename, render_pdf(self.template, self.context))


def invoice_source(session: Session, *, customer_id: int, invoice_id: int,
                   today: date) -> DocumentSource:
    """The customer's invoice, loaded for rendering (NotFound if it is not theirs)."""
    detail = invoices.invoice_detail(session, customer_id=customer_id, invoice_id=invoice_id,
                                     today=today)
    return DocumentSource("print/invoice.html",
                          {**_parties(session, customer_id), "detail": detail},
                          filename_for(detail.invoice.number))


def credit_note_source(session: Session, *, customer_id: int, credit_note_id: int,
                       today: date | None = None) -> DocumentSource:
    """The customer's credit note, loaded for rendering (NotFound if it is not theirs)."""
    detail = credits.credit_detail(session, customer_id=customer_id,
                                   credit_note_id=credit_note_id)
    return DocumentSource("print/credit_note.html",
                          {**_parties(session, customer_id), "detail": detail},
                          filename_for(detail.row.number))


def receipt_source(session: Session, *, customer_id: int, payment_id: int,
                   today: date | None = None) -> DocumentSource:
    """A receipt of one of the customer's payments, loaded (NotFound if not theirs)."""
    receipt = history.receipt(session, customer_id=customer_id, payment_id=payment_id)
    return DocumentSource("print/receipt.html",
                          {**_parties(session, customer_id), "receipt": receipt},
                          filename_for(receipt.payment.number or f"payment-{payment_id}"))


def invoice_pdf(session: Session, *, customer_id: int, invoice_id: int,
                today: date) -> Document:
    """The customer's invoice as a PDF (NotFound if it is not theirs)."""
    return invoice_source(session, customer_id=customer_id, invoice_id=invoice_id,
                          today=today).render()


def credit_note_pdf(session: Session, *, customer_id: int, credit_note_id: int,
                    today: date | None = None) -> Document:
    """The customer's credit note as a PDF (NotFound if it is not theirs)."""
    return credit_note_source(session, customer_id=customer_id,
                              credit_note_id=credit_note_id).render()


def receipt_pdf(session: Session, *, customer_id: int, payment_id: int,
                today: date | None = None) -> Document:
    """The receipt of one of the customer's payments as a PDF (NotFound if not theirs)."""
    return receipt_source(session, customer_id=customer_id, payment_id=payment_id).render()


# Document kinds that can be downloaded one by one, forwarded, attached and packed.
SOURCES: dict[str, Callable[..., DocumentSource]] = {
    "invoice": lambda session, customer_id, document_id, today: invoice_source(
        session, customer_id=customer_id, invoice_id=document_id, today=today),
    "credit_note": lambda session, customer_id, document_id, today: credit_note_source(
        session, customer_id=customer_id, credit_note_id=document_id),
    "receipt": lambda session, customer_id, document_id, today: receipt_source(
        session, customer_id=customer_id, payment_id=document_id),
    # Issue 11: estimates, and the files customers attach to "send us an email"; both
    # modules import this one, so they are imported when used.
    "estimate": lambda session, customer_id, document_id, today: _engagement(
        "estimates").estimate_source(session, customer_id=customer_id,
                                     estimate_id=document_id, today=today),
    "message_attachment": lambda session, customer_id, document_id, today: _engagement(
        "messages").attachment_source(session, customer_id=customer_id,
                                      message_id=document_id),
}


def _engagement(name: str):
    return importlib.import_module(f"webapp.services.engagement.{name}")


def document_source(session: Session, *, kind: str, customer_id: int, document_id: int,
                    today: date) -> DocumentSource:
    """Any one document by kind ("invoice", "credit_note", "receipt"), loaded."""
    try:
        load = SOURCES[kind]
    except KeyError:
        raise ValueError(f"unknown document kind {kind!r}") from None
    return load(session, customer_id, document_id, today)


def document_pdf(session: Session, *, kind: str, customer_id: int, document_id: int,
                 today: date) -> Document:
    """Any one document by kind ("invoice", "credit_note", "receipt"); NotFound if not theirs."""
    return document_source(session, kind=kind, customer_id=customer_id,
                           document_id=document_id, today=today).render()


def attachment(session: Session, *, kind: str, document_id: int, customer_id: int | None,
               now: datetime) -> Document:
    """The document an outbox row attaches, rendered as it stands when the mail is sent."""
    if customer_id is None:
        raise ValueError("an attached document belongs to a customer")
    org = session.get(Organization, 1)
    return document_pdf(session, kind=kind, customer_id=customer_id, document_id=document_id,
                        today=today_in(org.timezone if org else "UTC", now))
