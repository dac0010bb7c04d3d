"""What a person sees at 1366×900 and on a 390×844 phone, on every customer page and the admin
home: nothing scrolls sideways, no amount is cut off, and every page is axe- and CSP-clean (the
fixtures check each page `visit` opens). The main pages are photographed into screenshots/.

Money is shown in `.amount` (table cells, totals) and `.big` (the figure of a card).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import REPO_ROOT
from tests.browser.support import click_through, login, path_of, visit
from webapp import demo

SCREENSHOTS = REPO_ROOT / "screenshots"
VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}

# (name for a screenshot or None, path or (list path, the first link it shows matching this))
CUSTOMER_PAGES: list[tuple[str | None, str | tuple[str, str]]] = [
    ("home", "/"),
    ("subscriptions", "/subscriptions"),
    ("subscription", ("/subscriptions", r"^/subscriptions/\d+$")),
    ("invoices", "/invoices"),
    ("invoice", ("/invoices", r"^/invoices/\d+$")),
    ("pay", "/pay?all=1"),
    ("payment-methods", "/payment-methods"),
    ("statements", "/statements"),
    (None, "/credits"),
    (None, ("/credits", r"^/credits/\d+$")),
    (None, "/payments"),
    (None, ("/payments", r"^/payments/\d+$")),
    (None, "/estimates"),
    (None, ("/estimates", r"^/estimates/\d+$")),
    (None, "/projects"),
    (None, ("/projects", r"^/projects/\d+$")),
    (None, "/timesheets"),
    (None, "/profile"),
    (None, "/reviews"),
    (None, "/account"),
    (None, "/messages/new"),
]

# Every problem on the page: sideways scroll, and money outside the window, its card, or a
# scrolling box that hides part of it.
_LAYOUT_PROBLEMS = """() => {
  const width = window.innerWidth, problems = [];
  const page = document.documentElement.scrollWidth;
  if (page > width) problems.push(`the page is ${page} px wide in a ${width} px window`);
  const inside = (r, box) => r.left >= box.left - 0.5 && r.right <= box.right + 0.5;
  for (const el of document.querySelectorAll(".amount, .big")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const what = `"${el.textContent.trim().replace(/\\s+/g, " ").slice(0, 40)}"`;
    if (!inside(r, {left: 0, right: width})) {
      problems.push(`${what} is outside the window (${Math.round(r.left)}..${Math.round(r.right)})`);
      continue;
    }
    const card = el.closest("article");
    if (card && !inside(r, card.getBoundingClientRect())) {
      problems.push(`${what} sticks out of its card`);
      continue;
    }
    for (let box = el.parentElement; box && box !== document.body; box = box.parentElement) {
      if (getComputedStyle(box).overflowX !== "visible" && !inside(r, box.getBoundingClientRect())) {
        problems.push(`${what} is cut off by a scrolling ${box.tagName.toLowerCase()}.${box.className}`);
        break;
      }
    }
  }
  return problems;
}"""


def _first_link(page: Page, pattern: str) -> str:
    hrefs = page.eval_on_selector_all("main a[href]", "links => links.map(a => a.getAttribute('href'))")
    found = next((h for h in hrefs if re.match(pattern, h.split("?")[0])), None)
    assert found, f"no link matching {pattern} on {page.url}"
    return found


def _check_pages(page: Page, pages, viewport: str) -> list[str]:
    """Visit each page (axe and CSP are checked by `visit`); the layout problems found."""
    problems = []
    for name, where in pages:
        if isinstance(where, tuple):
            visit(page, where[0])
            where = _first_link(page, where[1])
        visit(page, where)
        problems += [f"{where}: {p}" for p in page.evaluate(_LAYOUT_PROBLEMS)]
        if name:
            SCREENSHOTS.mkdir(exist_ok=True)
            page.screenshot(path=SCREENSHOTS / f"{viewport}-{name}.png", full_page=True)
    return problems


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_every_customer_page_fits_the_window_with_every_amount_in_view(open_page, viewport):
    page = open_page(viewport=VIEWPORTS[viewport])
    login(page, *demo.JANE)

    problems = _check_pages(page, CUSTOMER_PAGES, viewport)

    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_admin_home_fits_the_window(open_page, viewport):
    page = open_page(viewport=VIEWPORTS[viewport])
    login(page, *demo.ADMIN)

    problems = _check_pages(page, [(None, "/admin/")], viewport)

    assert not problems, "\n".join(problems)


def test_omar_sees_his_invoices_without_sideways_scroll_on_a_phone(open_page):
    page = open_page(viewport=VIEWPORTS["phone"])
    login(page, *demo.OMAR)

    problems = _check_pages(page, [(None, "/"), (None, "/invoices"), (None, "/subscriptions")],
                            "phone")

    assert not problems, "\n".join(problems)


def test_on_a_phone_each_invoice_row_shows_its_amount_and_status(open_page):
    page = open_page(viewport=VIEWPORTS["phone"])
    login(page, *demo.JANE)
    visit(page, "/invoices")

    row = page.locator("#invoice-list tbody tr").first
    expect(row.locator(".status")).to_be_visible()
    for cell in row.locator(".amount").all():
        expect(cell).to_be_in_viewport()
    expect(page.locator("#invoice-list thead")).to_be_hidden()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_on_a_phone_the_menu_opens_and_shows_the_grouped_links(open_page, javascript):
    page = open_page(viewport=VIEWPORTS["phone"], javascript=javascript)
    login(page, *demo.JANE)
    sidebar = page.get_by_role("navigation", name="Portal")
    invoices = sidebar.get_by_role("link", name="Invoices")
    expect(invoices).to_be_hidden()

    sidebar.get_by_text("Menu", exact=True).click()

    expect(invoices).to_be_visible()
    expect(sidebar.get_by_text("Billing", exact=True)).to_be_visible()
    expect(sidebar.get_by_role("link", name="Home")).to_have_attribute("aria-current", "page")
    click_through(page, invoices)
    assert path_of(page) == "/invoices"


def test_at_1366_the_links_show_without_a_menu(open_page):
    page = open_page(viewport=VIEWPORTS["desktop"])
    login(page, *demo.JANE)
    sidebar = page.get_by_role("navigation", name="Portal")

    expect(sidebar.get_by_text("Menu", exact=True)).to_be_hidden()
    for label in ("Home", "Invoices", "Timesheets", "Account & security"):
        expect(sidebar.get_by_role("link", name=label)).to_be_visible()
    expect(sidebar.get_by_role("button", name="Log out")).to_be_visible()


def test_download_and_print_are_the_same_height_and_apply_is_compact_and_level(open_page):
    page = open_page(viewport=VIEWPORTS["desktop"])
    login(page, *demo.JANE)
    visit(page, "/invoices")
    apply = page.get_by_role("button", name="Apply").bounding_box()
    status = page.get_by_label("Status").bounding_box()
    assert apply["width"] < 150
    assert abs(apply["y"] + apply["height"] - (status["y"] + status["height"])) < 2  # level
    visit(page, _first_link(page, r"^/invoices/\d+$"))

    download = page.get_by_role("button", name="Download PDF").bounding_box()
    print_ = page.get_by_role("button", name="Print").bounding_box()

    assert abs(download["height"] - print_["height"]) < 1
    assert abs(download["y"] - print_["y"]) < 1
    assert print_["x"] - (download["x"] + download["width"]) >= 8  # a gap between them
