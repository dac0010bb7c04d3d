"""One balance figure in chromium (issue 24): Home, Pay all, Invoices and the Statement agree
for Jane and Omar on the figure worked out by hand in tests/web/payments/test_balance_figures.py,
each finding the pages' labels in their own language (Omar's German from the catalog)."""

from __future__ import annotations

import re

import pytest

from tests.browser.support import click_through, login, visit
from tests.web.payments.test_balance_figures import EXPECTED, WORDS


def _minor(text: str) -> int:
    return int(re.sub(r"[^\d]", "", text))


@pytest.mark.parametrize(("who", "shown", "minor"), EXPECTED, ids=["jane", "omar"])
def test_every_page_shows_the_same_outstanding_figure(page, demo_data, who, shown, minor):
    words = WORDS[who]
    login(page, *who)
    visit(page, "/")
    main = page.get_by_role("main")
    outstanding = page.locator("header", has_text=re.compile(rf"^\s*{re.escape(words('Outstanding'))}\s*$"))
    assert shown in main.locator("article", has=outstanding).first.inner_text()
    click_through(page, page.get_by_role("button", name=words("Pay all outstanding")))
    assert shown in page.locator("tfoot").inner_text()
    pay = words("Pay %(amount)s with this new card", amount=shown)
    assert page.get_by_role("button", name=pay).is_visible()
    visit(page, "/invoices")
    balances = page.locator("#invoice-list tbody tr:has(input[name=invoice]) td:last-child")
    assert sum(_minor(text) for text in balances.all_inner_texts()) == minor
    visit(page, "/statements")
    assert shown in page.locator("#statement tr.total").first.inner_text()
