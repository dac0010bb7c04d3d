"""See my account, in chromium: filters with htmx and without JavaScript, links between pages."""

from __future__ import annotations

from tests.browser.support import check_page, click_through, login, path_of, visit
from webapp import demo


def _rows(page, list_id: str) -> int:
    return page.locator(f"#{list_id} tbody tr").count()


def test_jane_filters_subscriptions_with_htmx_and_the_url_keeps_the_filter(page):
    login(page, *demo.JANE)
    visit(page, "/subscriptions")
    assert _rows(page, "subscription-list") == 10
    with page.expect_response(lambda r: "/subscriptions?" in r.url and r.request.headers.get("hx-request") == "true"):
        page.locator("#filter-status").select_option("paused")
    page.wait_for_url("**/subscriptions?status=paused**")
    check_page(page)
    assert _rows(page, "subscription-list") == 1
    assert "Paused" in page.locator("#subscription-list").inner_text()
    assert page.get_by_role("heading", level=1).count() == 1  # only the list was swapped


def test_jane_filters_invoices_without_javascript(page_without_js):
    page = page_without_js
    login(page, *demo.JANE)
    visit(page, "/invoices")
    everything = _rows(page, "invoice-list")
    page.locator("#filter-status").select_option("overdue")
    click_through(page, page.get_by_role("button", name="Apply"))
    assert "status=overdue" in page.url
    assert 0 < _rows(page, "invoice-list") < everything
    assert set(page.locator("#invoice-list tbody .status").all_inner_texts()) == {"Overdue"}


def test_jane_filters_invoices_with_htmx(page):
    login(page, *demo.JANE)
    visit(page, "/invoices")
    with page.expect_response(lambda r: "status=paid" in r.url):
        page.locator("#filter-status").select_option("paid")
    page.wait_for_url("**/invoices?status=paid**")
    check_page(page)
    assert set(page.locator("#invoice-list tbody .status").all_inner_texts()) == {"Paid"}


def test_jane_opens_a_subscriptions_invoices(page):
    login(page, *demo.JANE)
    visit(page, "/subscriptions?status=live")
    click_through(page, page.locator("#subscription-list tbody a").first)
    click_through(page, page.get_by_role("button", name="View Invoices"))
    assert path_of(page) == "/invoices" and "subscription=" in page.url
    assert _rows(page, "invoice-list") == 4
    assert "Showing the invoices of one subscription" in page.get_by_role("main").inner_text()


def test_jane_opens_a_receipt_that_prints_cleanly(page):
    login(page, *demo.JANE)
    click_through(page, page.get_by_role("navigation").get_by_role("link", name="Payments Made"))
    click_through(page, page.locator("#payment-list tbody a").first)
    assert "Payment Receipt PAY-" in page.get_by_role("heading", level=1).inner_text()
    page.emulate_media(media="print")
    assert not page.locator(".sidebar").is_visible()
    assert not page.get_by_role("button", name="Print").is_visible()
    assert page.locator(".receipt").is_visible()
