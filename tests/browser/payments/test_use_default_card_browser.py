"""A subscription without a card: one click uses the default card (issue 24), JS on and off."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from tests.browser.support import click_through, login, visit
from webapp import demo
from webapp.models import PaymentMethod, Subscription


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_jane_gives_a_subscription_without_a_card_her_default_card(request, browser_engine, demo_data, js):
    page = request.getfixturevalue("page" if js else "page_without_js")
    with Session(browser_engine, expire_on_commit=False) as session:
        sub = session.exec(select(Subscription).where(
            Subscription.customer_id == demo_data.jane_customer_id, Subscription.status == "live")
            .order_by(Subscription.id)).first()
        sub.payment_method_id, sub.autocharge = None, False
        session.commit()
    login(page, *demo.JANE)
    visit(page, f"/subscriptions/{sub.id}")
    use = page.get_by_role("button", name="Use Visa •••• 4242")
    if js:
        use.click()
        page.locator("#subscription-autocharge", has_text="now uses Visa •••• 4242").wait_for()
    else:
        click_through(page, use)
    assert "now uses Visa •••• 4242" in page.get_by_role("main").inner_text()
    with Session(browser_engine) as session:
        method = session.get(PaymentMethod, session.get(Subscription, sub.id).payment_method_id)
        assert (method.last4, method.is_default) == ("4242", True)
