""""Page N of M" on every PDF (issue 25), stamped after one layout: the documents service
draws each page's number on an overlay merged onto the rendered pages, instead of xhtml2pdf's
<pdf:pagecount>, which laid every document out twice. The stamp keeps what the page had (the
logo, the "Pay online" link, the metadata) and its text stays extractable."""

from __future__ import annotations

import base64
import re
from dataclasses import replace
from datetime import timedelta
from io import BytesIO

import pytest
from PIL import Image
from pypdf import PdfReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus.doctemplate import BaseDocTemplate

from bench.documents import synthetic_statement
from tests.factories import make_customer, moment_on
from tests.unit.documents.test_document_parties import page_url
from webapp import demo
from webapp.services.billing import ledger
from webapp.services.billing.pricing import Charge, price
from webapp.services.core import pdf
from webapp.services.documents import sources
from webapp.services.documents.statements import StatementDocument

PAGE_NUMBER = re.compile(r"Page (\d+) of (\d+)")


def _logo() -> str:
    out = BytesIO()
    Image.new("RGB", (120, 40), (20, 90, 160)).save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def long_statement(rows: int = 100) -> StatementDocument:
    """The bench's statement of `rows` alternating invoices and payments (three pages at 100),
    with a legal name and a logo."""
    document = synthetic_statement(rows)
    document.org.name, document.org.legal_name = "Northwind", "Northwind Cloud Limited"
    return replace(document, logo=_logo())


def page_texts(content: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(BytesIO(content)).pages]


@pytest.fixture(scope="module")
def statement_pdf() -> bytes:
    return long_statement().render().content


def test_a_three_page_statement_says_page_i_of_3_once_on_each_page(statement_pdf):
    texts = page_texts(statement_pdf)
    assert len(texts) == 3
    for number, text in enumerate(texts, start=1):
        assert PAGE_NUMBER.findall(text) == [(str(number), "3")]


def test_the_number_is_on_the_footers_line_at_its_right_edge_in_the_documents_font(
        statement_pdf):
    page = PdfReader(BytesIO(statement_pdf)).pages[1]
    drawn = []

    def visit(text, cm, tm, font, size):
        if text.strip():
            drawn.append((text.strip(), tm[4] * cm[0] + cm[4], tm[5] * cm[3] + cm[5],
                          str(font.get("/BaseFont", "")).split("+")[-1], size))
    page.extract_text(visitor_text=visit)
    footer = next(d for d in drawn if d[0].startswith("Northwind Cloud Limited · Statement"))
    number = next(d for d in drawn if d[0] == "Page 2 of 3")
    assert abs(number[2] - footer[2]) < 0.5  # the same baseline
    assert number[1] > 400 > footer[1]  # right of the footer's text, which starts at the left
    # The registered font (FONT_FAMILY is DejaVu Sans), the footer's size.
    assert number[3] == footer[3] == "DejaVuSans" and number[4] == footer[4] == 7.5
    assert {d[3] for d in drawn} == {"DejaVuSans", "DejaVuSans-Bold"}


def test_the_logo_survives_the_stamp(statement_pdf):
    xobjects = PdfReader(BytesIO(statement_pdf)).pages[0]["/Resources"]["/XObject"]
    (image,) = [x.get_object() for x in xobjects.values()
                if x.get_object()["/Subtype"] == "/Image"]
    assert (image["/Width"], image["/Height"]) == (120, 40)


def test_a_render_lays_the_document_out_once(monkeypatch):
    document = long_statement()
    html = pdf.render_html("print/statement.html", {
        "org": document.org, "customer": document.statement.customer,
        "statement": document.statement, "logo": document.logo})
    assert "pdf:pagecount" not in html and "pdf:pagenumber" not in html
    builds = []
    build = BaseDocTemplate.build

    def counted(self, *args, **kwargs):
        builds.append(1)
        return build(self, *args, **kwargs)
    monkeypatch.setattr(BaseDocTemplate, "build", counted)
    content = document.render().content
    assert len(builds) == 1 and len(PdfReader(BytesIO(content)).pages) == 3
    # What it replaced: the count in the footer made ReportLab lay the pages out again.
    builds.clear()
    pdf.html_to_pdf(html.replace("</body>", "<div>Page <pdf:pagenumber> of "
                                            "<pdf:pagecount></div></body>"),
                    images=(document.logo,), page_numbers=False)
    assert len(builds) >= 2


def test_the_pay_online_link_and_the_metadata_survive_the_stamp(session, now):
    demo.seed_organization(session, now=now)
    customer = make_customer(session, now=now, currency="GBP")
    priced = price([Charge("one_off", "Design", 2, 45000)], tax_rate_bp=2000)
    invoice = ledger.issue_invoice(session, customer_id=customer.id, currency="GBP",
                                   kind="one_off", priced=priced, issue_date=now.date(),
                                   due_date=now.date() + timedelta(days=14), now=now)
    source = sources.invoice_source(session, customer_id=customer.id, invoice_id=invoice.id,
                                    at=moment_on(now.date()), page_url=page_url)
    html = pdf.render_html(source.template, source.context)
    bare = PdfReader(BytesIO(pdf.html_to_pdf(html, page_numbers=False)))
    stamped = PdfReader(BytesIO(source.render().content))
    links = [a.get_object()["/A"]["/URI"] for a in stamped.pages[0]["/Annots"]
             if a.get_object()["/Subtype"] == "/Link"]
    assert links == [f"https://portal.example/invoices/{invoice.id}"]
    same = ("/Title", "/Author", "/Subject", "/Creator", "/Producer", "/Keywords")
    assert [stamped.metadata.get(k) for k in same] == [bare.metadata.get(k) for k in same]
    assert set(stamped.metadata) == set(bare.metadata)
    assert stamped.metadata.title == f"Invoice {invoice.number}"
    assert "Page 1 of 1" in stamped.pages[0].extract_text()
    assert "Page 1 of" not in bare.pages[0].extract_text()


def test_a_kind_may_opt_out_of_page_numbers():
    document = long_statement(rows=4)
    context = {"org": document.org, "customer": document.statement.customer,
               "statement": document.statement}
    numbered = pdf.DocumentSource("print/statement.html", context, "s.pdf").render()
    plain = pdf.DocumentSource("print/statement.html", context, "s.pdf",
                               page_numbers=False).render()
    assert PAGE_NUMBER.findall(" ".join(page_texts(numbered.content))) == [("1", "1")]
    assert PAGE_NUMBER.findall(" ".join(page_texts(plain.content))) == []


def test_a_long_footer_wraps_before_the_number():
    document = long_statement(rows=4)
    document.org.legal_name = ("Northwind Cloud Infrastructure and Managed Services "
                               "International Holdings Limited Partnership")
    page = PdfReader(BytesIO(document.render().content)).pages[0]
    drawn = []

    def visit(text, cm, tm, font, size):
        if text.strip() and tm[5] * cm[3] + cm[5] < 60:  # the footer frame
            drawn.append((text.strip(), tm[4] * cm[0] + cm[4]))
    page.extract_text(visitor_text=visit)
    (first, left), (second, _), (number, right) = drawn
    assert first.startswith("Northwind Cloud Infrastructure") and number == "Page 1 of 1"
    assert left + stringWidth(first, pdf.register_fonts(), 7.5) < right - 20
    assert second.endswith("31 Dec 2026")
