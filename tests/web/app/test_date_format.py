"""One format for dates: the demo's main pages show no ISO date ("2026-12-28") outside what a
machine reads (an <input>'s value, a datetime= attribute, a URL), and the receipt page names
who paid it as the PDF does."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from tests.web.routes import first_id
from webapp import demo
from webapp.db import db
from webapp.models import Customer, Invoice, Payment, Subscription

ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
# Where an ISO date belongs: a form control's value, a <time datetime=...>, a link's query.
MACHINE_READ = re.compile(r'(?:value|datetime|href|hx-get|action|hx-post|src)="[^"]*"', re.I)
# ...and what is not read as prose: scripts, styles, and a <pre> example of a CSV to import.
SCRIPTS = re.compile(r"<(script|style|pre)\b.*?</\1>", re.S | re.I)


def visible_iso_dates(html: str) -> list[str]:
    """The ISO dates a person would read on the page, each with some context."""
    text = MACHINE_READ.sub("", SCRIPTS.sub("", html))
    return [text[max(0, m.start() - 60):m.end() + 20] for m in ISO_DATE.finditer(text)]


def main_pages(app, customer_id: int) -> list[str]:
    with app.app_context():
        ids = {model: first_id(db.session, model, customer_id)
               for model in (Subscription, Invoice, Payment)}
    return ["/", "/subscriptions", f"/subscriptions/{ids[Subscription]}", "/invoices",
            f"/invoices/{ids[Invoice]}", "/payments", f"/payments/{ids[Payment]}",
            "/statements", "/statements?preset=custom&from=2026-01-01&to=2026-11-30",
            "/invoices?from=2026-01-01&to=2026-11-30", "/payments?from=2026-01-01&to=2026-11-30",
            "/invoices?from=1800-01-01"]


def test_a_refused_date_filter_says_so_in_the_portals_format(client, jane):
    html = client.get("/invoices?from=1800-01-01").get_data(as_text=True)
    assert "Enter a date between" in html and "2000-01-01" not in html


@pytest.fixture
def jane(client, auth, seeded):
    auth.login()
    return seeded.jane_customer_id


def test_the_main_pages_show_no_iso_dates(app, client, jane):
    found = {}
    for url in main_pages(app, jane):
        response = client.get(url)
        assert response.status_code == 200, url
        dates = visible_iso_dates(response.get_data(as_text=True))
        if dates:
            found[url] = dates
    assert found == {}


def test_the_statement_keeps_iso_values_in_its_date_inputs(client, jane):
    html = client.get("/statements?preset=custom&from=2026-01-01&to=2026-11-30").get_data(
        as_text=True)
    assert 'value="2026-01-01"' in html and 'value="2026-11-30"' in html


def test_the_receipt_page_says_received_from_the_customers_company(app, client, jane):
    with app.app_context():
        payment_id = db.session.exec(select(Payment.id).where(
            Payment.customer_id == jane, Payment.status == "succeeded")
            .order_by(Payment.id)).first()
        customer = db.session.get(Customer, jane)
        customer.company = "Cooper & Daughters Ltd"
        db.session.commit()
    html = client.get(f"/payments/{payment_id}").get_data(as_text=True)
    assert re.search(r"Received from</dt>\s*<dd>Cooper &amp; Daughters Ltd</dd>", html)


def test_without_a_company_the_receipt_page_names_the_customer(app, client, jane):
    with app.app_context():
        payment_id = first_id(db.session, Payment, jane)
        customer = db.session.get(Customer, jane)
        customer.company = ""
        db.session.commit()
        name = customer.display_name
    html = client.get(f"/payments/{payment_id}").get_data(as_text=True)
    assert re.search(rf"Received from</dt>\s*<dd>{re.escape(name)}</dd>", html)


HREF = re.compile(r'href="(/admin[^"#]*)"')
DOWNLOADS = re.compile(r"\.(pdf|csv|xlsx|zip)(\?|$)|/export|/download")


def _shape(url: str) -> str:
    """One page per shape: /admin/customers/7 and /admin/customers/9 are the same page."""
    return re.sub(r"\d+", "N", url.split("?")[0])


def test_the_admin_pages_show_no_iso_dates(client, auth, seeded):
    """Every admin page reachable from the admin home by links (one of each shape: a list, a
    customer, an invoice, a subscription...), read as the admin reads it."""
    auth.login(*demo.ADMIN)
    queue, seen, found = ["/admin/"], set(), {}
    while queue and len(seen) < 120:
        url = queue.pop(0)
        if _shape(url) in seen:
            continue
        seen.add(_shape(url))
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        if dates := visible_iso_dates(html):
            found[url] = dates
        queue += [link.replace("&amp;", "&") for link in HREF.findall(html)
                  if not DOWNLOADS.search(link)]
    assert len(seen) >= 25, sorted(seen)  # the crawl reached the back office's pages
    assert found == {}
