"""Webhooks in chromium: the admin adds an endpoint, sees its signing secret once, sends a test
event, and sees it in the delivery log once the schedule has sent it to a real receiver."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from tests.browser.support import check_page, click_through, login, visit
from tests.conftest import FIXED_NOW
from tests.webhook_receiver import Receiver
from webapp import demo
from webapp.services.webhooks import sending

SERVER_SECRET_KEY = "browser-test-secret-key"  # tests/browser/server.py


def _schedule_runs(engine) -> int:
    """What the schedule's job does (worker.jobs.send_webhooks), at the server's clock."""
    with Session(engine, expire_on_commit=False) as session:
        claimed = sending.claim(session, sending.due(session, now=FIXED_NOW), now=FIXED_NOW)
        session.commit()
        for delivery_id in claimed:
            request = sending.prepare(session, delivery_id=delivery_id, now=FIXED_NOW,
                                      key=SERVER_SECRET_KEY)
            session.commit()
            result = sending.post(request, sent_at=datetime.now(UTC), production=False)
            sending.record(session, delivery_id=delivery_id, result=result, now=FIXED_NOW)
            session.commit()
    return len(claimed)


def test_add_an_endpoint_see_the_secret_once_send_a_test_event_and_see_it_logged(
        page, browser_engine):
    with Receiver() as receiver:
        login(page, *demo.ADMIN)
        visit(page, "/admin/webhooks")
        assert page.get_by_text("No endpoints yet.").is_visible()
        click_through(page, page.get_by_role("button", name="Add endpoint"))
        page.get_by_label("URL").fill(receiver.url)
        page.get_by_label("Description").fill("Our CRM")
        page.get_by_role("button", name="Add endpoint").click()  # htmx swaps the form
        shown = page.locator("#webhook-secret")
        shown.wait_for()
        secret = shown.inner_text().strip()
        assert secret.startswith("whsec_")
        assert page.get_by_text("it is not shown again").is_visible()
        check_page(page)
        receiver.secrets.append(secret)

        click_through(page, page.get_by_role("button", name="Done: go to the endpoint"))
        assert secret not in page.content()
        assert page.get_by_text("Plain http or a local address").is_visible()
        click_through(page, page.get_by_role("button", name="Send test event"))
        assert page.get_by_text("queued; it is sent within seconds").is_visible()
        log = page.locator("#admin-webhook-log")
        assert "test.ping" in log.inner_text() and "Pending" in log.inner_text()
        assert receiver.received == []

        assert _schedule_runs(browser_engine) == 1
        [arrival] = receiver.received
        assert arrival.payload["type"] == "test.ping" and arrival.verified_with == (0,)
        page.reload()
        check_page(page)
        row = page.locator("#admin-webhook-log tbody tr").first
        assert "Delivered" in row.inner_text() and arrival.id in row.inner_text()
        row.locator("summary").click()
        assert "200" in row.inner_text() and "ms" in row.inner_text()

        page.get_by_label("Status").select_option("failed")  # htmx swaps the log
        page.get_by_text("No deliveries match.").wait_for()
        check_page(page)
