"""Manage Subscription in chromium: change plan with the preview, then confirm."""

from __future__ import annotations

from sqlmodel import Session, select

from tests.browser.support import check_page, click_through, login, visit
from webapp import demo
from webapp.models import Invoice, Subscription


def test_jane_changes_plan_with_the_preview(page, browser_engine, demo_data):
    with Session(browser_engine, expire_on_commit=False) as session:
        sub = session.exec(select(Subscription).where(
            Subscription.customer_id == demo_data.jane_customer_id, Subscription.status == "live")
            .order_by(Subscription.id)).first()
        sub.autocharge = False
        session.commit()
    login(page, *demo.JANE)
    visit(page, f"/subscriptions/{sub.id}")
    click_through(page, page.get_by_role("button", name="Manage Subscription"))
    enterprise = page.locator("#plan_id option", has_text="Enterprise")
    assert " every month" in enterprise.inner_text()  # each plan with its price and interval
    page.locator("#plan_id").select_option(enterprise.get_attribute("value"))
    page.get_by_label("Immediately", exact=True).check()
    with page.expect_response(lambda r: r.url.endswith("/edit/preview")):
        page.get_by_role("button", name="Preview the change").click()
    preview = page.locator("#subscription-change-preview")
    preview.get_by_text("Due today").wait_for()
    check_page(page)
    due = preview.locator("#preview-due").inner_text()
    click_through(page, preview.get_by_role("button", name="Confirm the change"))
    assert "Your subscription has been changed." in page.get_by_role("main").inner_text()
    with Session(browser_engine, expire_on_commit=False) as session:
        invoice = session.exec(select(Invoice).where(Invoice.subscription_id == sub.id,
                                                     Invoice.kind == "proration")).one()
    visit(page, f"/invoices/{invoice.id}")
    assert due.replace("−", "") in page.get_by_role("main").inner_text()
