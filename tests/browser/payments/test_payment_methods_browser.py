"""Payment Methods in chromium: removing a card asks first, with and without JavaScript."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from tests.browser.support import click_through, login, visit
from webapp import demo
from webapp.models import PaymentMethod
from webapp.services.billing.gateway import CardDetails, TestGateway
from webapp.services.payments import methods


def _second_card(engine, customer_id) -> int:
    now = datetime.now(UTC)
    with Session(engine, expire_on_commit=False) as session:
        card = methods.add(session, customer_id=customer_id, gateway=TestGateway(engine), now=now,
                           card=CardDetails("5555555555554444", 10, now.year + 3, "999")).method
        session.commit()
        return card.id


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_removing_a_card_asks_for_confirmation_and_keep_it_keeps_it(
        request, browser_engine, demo_data, js):
    page = request.getfixturevalue("page" if js else "page_without_js")
    card_id = _second_card(browser_engine, demo_data.jane_customer_id)
    login(page, *demo.JANE)
    visit(page, "/payment-methods")
    click_through(page, page.get_by_role("button", name="Remove Mastercard •••• 4444"))
    assert page.get_by_role("heading", level=1).inner_text() == "Remove Mastercard •••• 4444?"
    click_through(page, page.get_by_role("button", name="Keep it"))
    assert "Mastercard •••• 4444" in page.locator("#payment-method-list").inner_text()
    click_through(page, page.get_by_role("button", name="Remove Mastercard •••• 4444"))
    click_through(page, page.get_by_role("button", name="Remove card"))
    assert "Mastercard •••• 4444 was removed." in page.get_by_role("main").inner_text()
    with Session(browser_engine) as session:
        assert session.exec(select(PaymentMethod.status).where(PaymentMethod.id == card_id)).one() == "removed"
