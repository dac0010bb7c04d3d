"""Omar's portal in German in chromium (issue 33): he signs in, pays an open invoice, cancels a
subscription at the end of its term and downloads a statement as a PDF, every page in German
and axe-clean.

Every control is found by its German name as the catalog writes it
(`translations_for("de_DE").gettext("Pay Now")`), never by German typed here: the test follows
the catalog, and fails if a text is left English on the page. The server serves the committed
catalogs, compiled before it starts (tests/browser/server.py `compile_catalogs`).
"""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader
from sqlmodel import Session, select

from tests.browser.support import check_page, click_through, path_of, visit
from webapp import demo
from webapp.models import Invoice, PaymentMethod, Subscription
from webapp.services.core import i18n

GERMAN = "de_DE"
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def de(msgid: str) -> str:
    """The German for an English text, as the catalog has it."""
    return i18n.translations_for(GERMAN).gettext(msgid)


def de_pattern(msgid: str, **known: str) -> re.Pattern[str]:
    """A regular expression for the German of a text with placeholders: the known ones as
    given, the others any text."""
    german, pattern, at = de(msgid), "", 0
    for match in _PLACEHOLDER.finditer(german):
        value = known.get(match.group(1))
        pattern += re.escape(german[at:match.start()]) + (re.escape(value) if value else ".+?")
        at = match.end()
    return re.compile(pattern + re.escape(german[at:]))


def _main(page: Page) -> str:
    return page.get_by_role("main").inner_text()


def _assert_german(page: Page) -> None:
    lang = page.locator("html").get_attribute("lang") or ""
    assert lang.startswith("de"), f"{page.url}: <html lang={lang!r}>, not German"


def _sign_in_as_omar(page: Page) -> None:
    visit(page, "/login")
    _assert_german(page)  # a visitor's browser asks for German (Accept-Language)
    page.get_by_label(de("Email")).fill(demo.OMAR[0])
    page.get_by_label(de("Password")).fill(demo.OMAR[1])
    click_through(page, page.get_by_role("button", name=de("Log in")))
    assert path_of(page) == "/", f"signing in as Omar failed on {page.url}"
    _assert_german(page)  # his own locale from now on


@pytest.fixture
def german_page(open_page) -> Page:
    page = open_page(locale="de-DE")
    _sign_in_as_omar(page)
    return page


def test_the_catalog_has_german_for_every_name_this_test_looks_for():
    """A guard: with an English name for one of them, the steps below would prove nothing."""
    for msgid in ("Email", "Password", "Log in", "Pay Now", "Pay %(amount)s with %(card)s",
                  "Payment Receipt %(number)s", "Cancel Subscription", "Cancel subscription",
                  "At the end of the current term", "Why are you cancelling?",
                  "%(number)s will be cancelled on %(on)s, at the end of the current term.",
                  "Remove Scheduled Cancellation", "Statements", "Range", "Last quarter",
                  "Show statement", "Download PDF", "Statement of accounts"):
        assert de(msgid) and de(msgid) != msgid, f"no German for {msgid!r}"


def test_omar_signs_in_and_pays_an_open_invoice_in_german(german_page, browser_engine,
                                                          demo_data):
    page = german_page
    with Session(browser_engine, expire_on_commit=False) as session:
        invoice = session.exec(select(Invoice).where(
            Invoice.customer_id == demo_data.omar_customer_id, Invoice.status == "open")
            .order_by(Invoice.issue_date)).first()
        card = session.exec(select(PaymentMethod).where(
            PaymentMethod.customer_id == demo_data.omar_customer_id,
            PaymentMethod.is_default)).one()
    visit(page, f"/invoices/{invoice.id}")
    _assert_german(page)
    click_through(page, page.get_by_role("button", name=de("Pay Now")))
    _assert_german(page)
    saved_card = page.get_by_role("button", name=de_pattern(
        "Pay %(amount)s with %(card)s", card=f"{card.brand} •••• {card.last4}"))
    assert "20,40\xa0€" in saved_card.inner_text()  # his amounts in his German format
    click_through(page, saved_card)
    _assert_german(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        de_pattern("Payment Receipt %(number)s"))
    assert invoice.number in _main(page)
    with Session(browser_engine) as session:
        assert session.get(Invoice, invoice.id).status == "paid"


def test_omar_cancels_a_subscription_at_the_end_of_its_term_in_german(german_page,
                                                                      browser_engine, demo_data):
    page = german_page
    with Session(browser_engine, expire_on_commit=False) as session:
        sub = session.exec(select(Subscription).where(
            Subscription.customer_id == demo_data.omar_customer_id,
            Subscription.status == "live")).one()
    visit(page, f"/subscriptions/{sub.id}")
    _assert_german(page)
    page.get_by_role("button", name=de("Cancel Subscription")).click()
    form = page.locator("#subscription-cancel")
    assert form.get_by_label(de("At the end of the current term")).is_checked()  # the default
    form.get_by_label(de("Why are you cancelling?")).select_option(index=1)  # the first reason
    check_page(page)
    click_through(page, form.get_by_role("button", name=de("Cancel subscription")))
    _assert_german(page)
    expect(page.get_by_role("main")).to_contain_text(de_pattern(
        "%(number)s will be cancelled on %(on)s, at the end of the current term.",
        number=sub.number))
    expect(page.get_by_role("button", name=de("Remove Scheduled Cancellation"))).to_be_visible()
    with Session(browser_engine) as session:
        assert session.get(Subscription, sub.id).status == "non_renewing"


def test_omar_downloads_last_quarters_statement_as_a_german_pdf(german_page):
    page = german_page
    click_through(page, page.get_by_role("link", name=de("Statements")))
    _assert_german(page)
    page.get_by_role("combobox", name=re.compile("^" + re.escape(de("Range")))) \
        .select_option("last_quarter")
    page.get_by_role("button", name=de("Show statement")).click()
    page.wait_for_url(re.compile(r"/statements\?.*preset=last_quarter"))  # htmx pushed it
    expect(page.get_by_role("heading", name=re.compile(
        "^" + re.escape(de("Last quarter"))))).to_be_visible()
    check_page(page)

    with page.expect_download() as info:
        page.get_by_role("button", name=de("Download PDF")).click()
    content = Path(info.value.path()).read_bytes()
    assert content.startswith(b"%PDF")
    text = " ".join(p.extract_text() for p in PdfReader(BytesIO(content)).pages)
    assert de("Statement of accounts") in text
    assert "20,40" in text  # his first invoice, paid in September, in his German format
