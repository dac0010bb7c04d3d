"""An invoice PDF's "Pay online" link (issue 25): the invoice's page at the portal's public
address (BASE_URL), which asks a signed-out customer to sign in and then shows that invoice;
built the same way when a worker renders the PDF with no request."""

from __future__ import annotations

import re
from io import BytesIO
from urllib.parse import urlsplit

import pytest
from pypdf import PdfReader

from tests.conftest import csrf_token_from
from webapp import demo, links
from webapp.db import db
from webapp.services.billing import invoices
from worker import jobs

BASE_URL = "https://portal.example"
PAY_ONLINE = re.compile(r"Pay online: (\S+)")


def pdf_text(content: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(BytesIO(content)).pages)
                    .split())


@pytest.fixture
def open_invoice_id(app, seeded) -> int:
    """One of Jane's invoices with something left to pay."""
    app.config["BASE_URL"] = BASE_URL
    with app.app_context():
        return invoices.payable_invoices(db.session, customer_id=seeded.jane_customer_id)[0].id


def test_a_payable_invoice_pdf_links_to_its_page_at_the_portals_address(
        client, auth, open_invoice_id):
    auth.login()
    text = pdf_text(client.get(f"/invoices/{open_invoice_id}.pdf").data)
    assert PAY_ONLINE.search(text).group(1) == f"{BASE_URL}/invoices/{open_invoice_id}"


def test_the_pay_online_link_signs_the_customer_in_and_lands_on_the_invoice(
        app, client, auth, open_invoice_id):
    auth.login()
    link = PAY_ONLINE.search(pdf_text(client.get(f"/invoices/{open_invoice_id}.pdf").data))
    path = urlsplit(link.group(1)).path
    auth.logout()

    asked = client.get(path)  # the link, opened signed out
    assert asked.status_code == 302
    login_url = asked.headers["Location"]
    assert urlsplit(login_url).path == "/login"
    token = csrf_token_from(client.get(login_url).get_data(as_text=True))
    signed_in = client.post(login_url, data={"email": demo.JANE[0], "password": demo.JANE[1],
                                             "csrf_token": token})
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == path
    page = client.get(path)
    assert page.status_code == 200 and "Pay Now" in page.get_data(as_text=True)


def test_a_worker_rendering_an_attached_invoice_links_to_base_url(
        app, seeded, session, now, monkeypatch, open_invoice_id):
    # No app context, as in an RQ worker: the link comes from the app made for the worker.
    monkeypatch.setattr(links, "_worker_app", lambda: app)
    document = jobs.attach_document(session, kind="invoice", document_id=open_invoice_id,
                                    customer_id=seeded.jane_customer_id, now=now)
    text = pdf_text(document.content)
    assert PAY_ONLINE.search(text).group(1) == f"{BASE_URL}/invoices/{open_invoice_id}"
