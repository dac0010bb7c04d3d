"""Subscription self-service in chromium: htmx with JavaScript on, plain forms with it off."""

from __future__ import annotations

from sqlmodel import Session, select

from tests.browser.support import check_page, click_through, login, visit
from webapp import demo
from webapp.models import Subscription


def _jane_sub(engine, customer_id: int, status: str, expired_reason: str | None = None) -> int:
    with Session(engine) as session:
        query = select(Subscription.id).where(Subscription.customer_id == customer_id,
                                              Subscription.status == status)
        if expired_reason:
            query = query.where(Subscription.expired_reason == expired_reason)
        return session.exec(query.order_by(Subscription.id)).first()


def _status(engine, sub_id: int) -> str:
    with Session(engine) as session:
        return session.get(Subscription, sub_id).status


def _main(page) -> str:
    return page.get_by_role("main").inner_text()


def test_jane_activates_her_trial_from_the_summary(page, browser_engine, demo_data):
    sub_id = _jane_sub(browser_engine, demo_data.jane_customer_id, "trial")
    login(page, *demo.JANE)
    visit(page, f"/subscriptions/{sub_id}")
    page.get_by_role("button", name="Proceed to Activate").click()
    summary = page.locator("#subscription-activate")
    summary.get_by_text("Amount due").wait_for()
    check_page(page)
    assert page.url.endswith(f"/subscriptions/{sub_id}")  # loaded into the page by htmx
    assert page.get_by_role("button", name="Activate Subscription").count() == 1  # one name,
    # one control: the opener beside the open summary is "Proceed to Activate"
    click_through(page, summary.get_by_role("button", name="Activate Subscription"))
    assert "the subscription is now live" in _main(page)
    assert _status(browser_engine, sub_id) == "live"


def test_jane_toggles_autocharge_in_place(page, browser_engine, demo_data):
    sub_id = _jane_sub(browser_engine, demo_data.jane_customer_id, "live")
    login(page, *demo.JANE)
    visit(page, f"/subscriptions/{sub_id}")
    switch = page.get_by_role("switch", name="Auto-charge: On")
    with page.expect_response(lambda r: r.url.endswith("/autocharge")):
        switch.click()
    page.get_by_role("switch", name="Auto-charge: Off").wait_for()
    assert "Auto-charge is off" in _main(page)
    check_page(page)


def test_jane_schedules_a_pause_and_deletes_it(page, browser_engine, demo_data):
    sub_id = _jane_sub(browser_engine, demo_data.jane_customer_id, "live")
    login(page, *demo.JANE)
    visit(page, f"/subscriptions/{sub_id}")
    page.get_by_role("button", name="Pause & Resume").click()
    form = page.locator("#subscription-pause")
    form.get_by_label("Pause on").fill("2026-12-01")
    form.get_by_label("Resume on").fill("2027-01-15")
    check_page(page)
    click_through(page, form.get_by_role("button", name="Pause subscription"))
    assert "pauses on 1 Dec 2026 and resumes on 15 Jan 2027" in _main(page)
    with page.expect_response(lambda r: r.url.endswith("/pause/delete")):
        page.get_by_role("button", name="Delete Schedule").click()
    page.get_by_text("was deleted").wait_for()
    assert page.get_by_role("button", name="Pause & Resume").is_visible()
    check_page(page)


def test_jane_cancels_at_term_end_and_removes_the_cancellation(page, browser_engine, demo_data):
    sub_id = _jane_sub(browser_engine, demo_data.jane_customer_id, "live")
    login(page, *demo.JANE)
    visit(page, f"/subscriptions/{sub_id}")
    clicks = 0
    page.get_by_role("button", name="Cancel Subscription").click()
    clicks += 1
    form = page.locator("#subscription-cancel")
    assert form.get_by_label("At the end of the current term").is_checked()  # the default
    form.get_by_label("Why are you cancelling?").select_option("I no longer need it")
    clicks += 1
    check_page(page)
    assert form.get_by_role("button", name="Keep subscription").is_visible()
    click_through(page, form.get_by_role("button", name="Cancel subscription", exact=True))
    clicks += 1
    assert clicks <= 3  # from the subscription page to a cancellation at the end of the term
    assert "will be cancelled on" in _main(page)
    assert _status(browser_engine, sub_id) == "non_renewing"
    with page.expect_response(lambda r: r.url.endswith("/remove-cancellation")):
        page.get_by_role("button", name="Remove Scheduled Cancellation").click()
    page.get_by_text("was removed").wait_for()
    assert page.locator("#subscription-status").inner_text() == "Active"
    assert _status(browser_engine, sub_id) == "live"
    check_page(page)


def test_jane_reactivates_an_expired_subscription(page, browser_engine, demo_data):
    sub_id = _jane_sub(browser_engine, demo_data.jane_customer_id, "expired", "term_end")
    login(page, *demo.JANE)
    visit(page, f"/subscriptions/{sub_id}")
    page.get_by_role("button", name="Proceed to Reactivate").click()
    summary = page.locator("#subscription-reactivate")
    summary.get_by_text("Amount due").wait_for()
    check_page(page)
    click_through(page, summary.get_by_role("button", name="Reactivate Subscription"))
    assert "The subscription is live again." in _main(page)
    assert _status(browser_engine, sub_id) == "live"


def test_the_cancel_flow_works_with_javascript_off(page_without_js, browser_engine, demo_data):
    page = page_without_js
    sub_id = _jane_sub(browser_engine, demo_data.jane_customer_id, "live")
    login(page, *demo.JANE)
    visit(page, f"/subscriptions/{sub_id}")
    click_through(page, page.get_by_role("button", name="Cancel Subscription"))
    assert page.url.endswith(f"/subscriptions/{sub_id}/cancel")
    click_through(page, page.get_by_role("button", name="Cancel Subscription"))
    assert "Choose a reason from the list." in _main(page)  # the form comes back, kept
    page.get_by_label("Why are you cancelling?").select_option("Other")
    page.get_by_label("Anything else").fill("Closing the studio")
    click_through(page, page.get_by_role("button", name="Cancel Subscription"))
    assert page.url.endswith(f"/subscriptions/{sub_id}")  # at the end of the term, the default
    assert "will be cancelled on" in _main(page) and "Remove Scheduled Cancellation" in _main(page)
    assert _status(browser_engine, sub_id) == "non_renewing"


def test_a_past_due_subscription_opens_with_its_amount_and_pay_now(page, browser_engine,
                                                                   demo_data):
    sub_id = _jane_sub(browser_engine, demo_data.jane_customer_id, "dunning")
    login(page, *demo.JANE)
    visit(page, f"/subscriptions/{sub_id}")
    banner = page.locator("#subscription-banner")
    assert "is past due." in banner.inner_text()
    pay_now = page.get_by_role("button", name="Pay Now")  # the only one on the page
    assert pay_now.bounding_box()["y"] < page.locator("#subscription-actions").bounding_box()["y"]
    click_through(page, pay_now)
    assert "/pay?invoice=" in page.url


_ACTION_ROWS = """() => {
  const buttons = [...document.querySelectorAll('main .actions [role="button"], main .actions button')]
    .filter(b => b.offsetParent !== null).map(b => b.getBoundingClientRect());
  const gaps = [];
  for (let i = 0; i < buttons.length; i++)
    for (let j = i + 1; j < buttons.length; j++) {
      const a = buttons[i], b = buttons[j];
      const apart = Math.max(b.left - a.right, a.left - b.right, b.top - a.bottom, a.top - b.bottom);
      gaps.push(apart);
    }
  return gaps;
}"""


def test_a_future_subscription_says_when_it_starts_and_its_buttons_stand_apart(page, browser_engine,
                                                                              demo_data):
    sub_id = _jane_sub(browser_engine, demo_data.jane_customer_id, "future")
    login(page, *demo.JANE)
    for width, height in ((1366, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        visit(page, f"/subscriptions/{sub_id}")
        term = page.locator("article", has_text="Current term").inner_text()
        assert "Starts on" in term and "Started" not in term and "Not started" not in term
        gaps = page.evaluate(_ACTION_ROWS)
        assert len(gaps) >= 1 and min(gaps) >= 6, (width, gaps)  # no two buttons touch
