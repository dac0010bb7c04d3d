"""PDF rendering with xhtml2pdf: the engine every document kind uses (documents/ loads
the invoices, credit notes and receipts; engagement/ the estimates and attachments).

No Flask here: a job renders documents without an app, so the Jinja environment is our own,
made on first use with the app's loader roots (webapp/templates, then webapp/) so the PDF
templates under print/ include the same fragments as the pages (documents/*.html). HTML is
autoescaped: customer text (names, line descriptions, reasons) cannot add markup.

A document may load files only from webapp/static: `resolve_resource` is the link_callback
and refuses every URL and any path outside static by raising, and an xhtml2pdf
`ResourceAccessPolicy` rooted at static with the network off backs it up on the paths that
do not go through the callback. Our templates ask for nothing else, so a refusal is a bug to
see, not something to skip quietly. The one exception is explicit: `html_to_pdf(images=...)`
lets through exactly the PNG or JPEG data: URIs its caller gives it, the organization's logo
(re-encoded when it was uploaded, read once per document: services/core/brand.py).

The font (DejaVu Sans from webapp/static/fonts, so €, ¥, ₹ and د.ك have glyphs) is registered
with ReportLab once per process as FONT_FAMILY, which the print templates name, instead of an
@font-face in every document: that made xhtml2pdf re-read and hash both font files and parse
the rules again on every render, a fixed cost that dominated short documents.

"Page 1 of 3" (issue 25) is stamped after the one layout, not laid out: xhtml2pdf's
<pdf:pagecount> knows the count only by laying the whole document out twice (ReportLab's
multiBuild; 1.25-2.2x a render, bench/README.md "Page N of M"). `html_to_pdf` renders once,
then `stamp_page_numbers` draws every page's "Page i of M" on one ReportLab overlay of M pages
(the registered font, at the place of print/base.html's footer frame) and pypdf merges it
onto the pages: the text stays extractable, and the pages' links, images and the document's
metadata are kept. Every kind numbers its pages; a kind opts out with page_numbers=False.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from pypdf import PdfReader, PdfWriter
from reportlab.lib.colors import HexColor
from reportlab.lib.fonts import addMapping
from reportlab.lib.units import cm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas, ShowBoundaryValue
from xhtml2pdf import default as xhtml2pdf_default
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import ResourceAccessError, ResourceAccessPolicy

from webapp.services.core import i18n, languages, locales, wording
from webapp.services.core.dates import format_day
from webapp.services.core.money import format_money, format_rate

log = logging.getLogger("portal.documents")

WEBAPP_DIR = Path(__file__).resolve().parents[2]
STATIC_DIR = (WEBAPP_DIR / "static").resolve()
PDF_MEDIA_TYPE = "application/pdf"

# Backs up `resolve_resource` on the fetches that bypass link_callback: static only, no network.
RESOURCE_POLICY = ResourceAccessPolicy.server(base_dir=STATIC_DIR, allow_remote=False)

# The documents' font family (print/base.html names it). Not "DejaVuSans": a document with its
# own @font-face for that family would remap the family's bold to its regular face.
FONT_FAMILY = "PortalDejaVuSans"
FONT_FILES = {FONT_FAMILY: "fonts/DejaVuSans.ttf",
              f"{FONT_FAMILY}-Bold": "fonts/DejaVuSans-Bold.ttf"}


# endpoint, values -> the page's absolute URL ("https://portal.example/invoices/7"), for a
# document's links (an invoice's "Pay online"). Given by the caller (webapp/links.py): a
# document rendered in a worker has no request, and services know no URL map.
PageUrl = Callable[[str, Mapping[str, Any]], str]
# The data: URIs a document may be given to show (`images=`): the logo, as core/brand.py
# writes it from the re-encoded image it stored.
INLINE_IMAGES = ("data:image/png;base64,", "data:image/jpeg;base64,")


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

def document_locale(context: Mapping[str, Any]) -> str:
    """The locale a document is written in: its customer's (their own, else the
    organization's); a document without a customer, the organization's."""
    org, customer = context.get("org"), context.get("customer")
    return locales.for_customer(getattr(customer, "locale", None),
                                org.locale if org else None)


def _locale(context) -> str:
    return context.get("locale") or document_locale(context)


@pass_context
def _money(context, amount: int | None, currency: str) -> str:
    return "" if amount is None else format_money(amount, currency, _locale(context))


@pass_context
def _localdate(context, value: datetime | date | None, fmt: str = "medium") -> str:
    org = context.get("org")
    return format_day(value, _locale(context), timezone=org.timezone if org else None,
                      fmt=fmt)


@pass_context
def _rate(context, basis_points: int | None) -> str:
    return format_rate(basis_points, _locale(context))


@cache
def environment() -> Environment:
    """The documents' Jinja environment: the app's loader roots, autoescaped, strict."""
    env = i18n.TranslatedEnvironment(loader=FileSystemLoader([WEBAPP_DIR / "templates", WEBAPP_DIR]),
                      autoescape=True, undefined=StrictUndefined)
    env.filters["money"] = _money
    env.filters["localdate"] = _localdate
    env.filters["rate"] = _rate
    env.filters["reword"] = wording.reword_now
    languages.install(env)  # document_lang(), document_dir()
    i18n.install_jinja(env)  # {{ _("...") }}: in the document's language (render_html)
    return env


def render_html(template: str, context: Mapping[str, Any], *,
                env: Environment | None = None) -> str:
    """A document template as HTML (what the PDF is made from), its words, dates and amounts
    in the customer's locale (`document_locale`, worked out once: the filters read `locale`,
    the words follow `i18n.use_locale`)."""
    if "locale" not in context:
        context = {**context, "locale": document_locale(context)}
    with i18n.use_locale(languages.reader_language(context)):
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


def _resolver(images: Collection[str | None]) -> Callable[..., str]:
    """The link_callback: `resolve_resource`, except for exactly the inline images given (a
    document's own logo, read once per render), which are used as they are."""
    allowed = frozenset(i for i in images if i and i.startswith(INLINE_IMAGES))
    if not allowed:
        return resolve_resource

    def resolve(uri: str, rel: str | None = None) -> str:
        return str(uri) if uri in allowed else resolve_resource(uri, rel)
    return resolve


def html_to_pdf(html: str, *, images: Collection[str | None] = (),
                page_numbers: bool = True) -> bytes:
    """PDF bytes from HTML, laid out once; relative resources resolve against webapp/static,
    and the `images` (PNG or JPEG data: URIs, such as the logo) are the only URIs it may hold.
    With `page_numbers`, every page says "Page i of M" in print/base.html's footer."""
    register_fonts()
    out = BytesIO()
    result = pisa.CreatePDF(html, dest=out, encoding="utf-8", link_callback=_resolver(images),
                            resource_policy=RESOURCE_POLICY, path=str(STATIC_DIR / "document"))
    if result.err:
        raise RenderFailed(f"xhtml2pdf reported {result.err} error(s)")
    return stamp_page_numbers(out.getvalue()) if page_numbers else out.getvalue()


def render_pdf(template: str, context: Mapping[str, Any], *,
               env: Environment | None = None, page_numbers: bool = True) -> bytes:
    """Render a print/ template to PDF bytes (the context's `logo`, a data: URI, shown), all
    of it, "Page i of M" too, in the customer's language."""
    if "locale" not in context:
        context = {**context, "locale": document_locale(context)}
    with i18n.use_locale(languages.reader_language(context)):
        return html_to_pdf(render_html(template, context, env=env),
                           images=(context.get("logo"),), page_numbers=page_numbers)


# --- "Page i of M" ---------------------------------------------------------------------------

# Where print/base.html's footer frame puts its first line (@frame footer: bottom 1 cm, 0.8 cm
# high, 1.5 cm side margins; #page-footer: 7.5 pt, #666666): the number ends at the frame's
# right edge, on the baseline of the footer's own text, which keeps clear of it on the left.
PAGE_NUMBER_SIDE = 1.5 * cm
PAGE_NUMBER_BASELINE = 1.6 * cm
PAGE_NUMBER_SIZE = 7.5
PAGE_NUMBER_COLOUR = HexColor("#666666")


def page_number_label(number: int, count: int) -> str:
    """The label "Page 2 of 3", in the language active (the document's: `render_pdf`)."""
    return str(i18n._("Page %(number)d of %(count)d", number=number, count=count))


def _page_number_overlay(sizes: list[tuple[float, float]]) -> bytes:
    """One PDF with a page of each size, each with nothing but its "Page i of M"."""
    out = BytesIO()
    canvas = Canvas(out, pageCompression=1)
    for number, (width, height) in enumerate(sizes, start=1):
        canvas.setPageSize((width, height))
        canvas.setFont(register_fonts(), PAGE_NUMBER_SIZE)
        canvas.setFillColor(PAGE_NUMBER_COLOUR)
        canvas.drawRightString(width - PAGE_NUMBER_SIDE, PAGE_NUMBER_BASELINE,
                               page_number_label(number, len(sizes)))
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def stamp_page_numbers(content: bytes) -> bytes:
    """The PDF with "Page i of M" drawn over each of its M pages: one overlay built in one go,
    merged page by page with pypdf (over the page, in its own graphics state). The document's
    metadata, links and images are cloned as they were."""
    writer = PdfWriter(clone_from=BytesIO(content))
    sizes = [(float(page.mediabox.width), float(page.mediabox.height))
             for page in writer.pages]
    overlay = PdfReader(BytesIO(_page_number_overlay(sizes)))
    for page, stamp in zip(writer.pages, overlay.pages, strict=True):
        page.merge_page(stamp, over=True)
        # merge_page leaves the page's content decoded: 1,000 rows would weigh 1.1 MB, not 140 KB.
        page.compress_content_streams()
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


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


@dataclass(frozen=True)
class DocumentSource:
    """A document with everything it shows loaded: rendering it needs no database."""

    template: str
    context: Mapping[str, Any]
    filename: str
    # "Page i of M" in the footer (a kind may opt out). Keyword-only, so a subclass's own
    # fields keep their places (engagement.messages.StoredFile adds content, media_type).
    page_numbers: bool = field(default=True, kw_only=True)

    def render(self) -> Document:
        return Document(self.filename, render_pdf(self.template, self.context,
                                                  page_numbers=self.page_numbers))
