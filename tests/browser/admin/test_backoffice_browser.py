"""Onboarding in chromium: the admin makes a plan, a customer and a subscription, invites the
customer, and the customer sets a password from the mailed link and sees the subscription.

The portal runs under its own gunicorn mailing through an aiosmtpd sink on loopback, so the
invitation travels by real SMTP.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from sqlalchemy import update
from sqlmodel import Session

from tests.browser.server import portal_server
from tests.browser.support import check_page, click_through, login, logout, path_of, visit
from tests.mail_sink import MailSink, link_in
from webapp import demo
from webapp.models import Preferences

PASSWORD = "welcome-aboard-2026"


@pytest.fixture(scope="module")
def mail_sink() -> Iterator[MailSink]:
    sink = MailSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def base_url(browser_engine, mail_sink, tmp_path_factory) -> Iterator[str]:
    """The portal under gunicorn, mailing through the sink; overrides the suite's server."""
    with portal_server(browser_engine, tmp_path_factory.mktemp("portal-backoffice-server"),
                       SMTP_HOST="127.0.0.1", SMTP_PORT=str(mail_sink.port)) as url:
        yield url


@pytest.fixture
def invite_by_hand(browser_engine, demo_data):
    """The demo opens the portal to new customers by itself; here the admin invites them."""
    with Session(browser_engine) as session:
        session.execute(update(Preferences).values(portal_auto_enable=False))
        session.commit()


def test_the_admin_onboards_a_customer_who_then_sees_their_subscription(
        page, mail_sink, base_url, invite_by_hand):
    login(page, *demo.ADMIN)

    # A plan, priced in dollars.
    click_through(page, page.get_by_role("link", name="Catalog"))
    click_through(page, page.get_by_role("button", name="New plan"))
    page.get_by_label(re.compile(r"^Code")).fill("starter-monthly")
    page.get_by_label("Name", exact=True).fill("Starter")
    page.get_by_label("Price (USD)").fill("12.00")
    click_through(page, page.get_by_role("button", name="Add plan"))
    assert "starter-monthly was added." in page.get_by_role("main").inner_text()

    # A customer.
    click_through(page, page.get_by_role("link", name="Customers"))
    click_through(page, page.get_by_role("button", name="New customer"))
    page.get_by_label("Name", exact=True).fill("Ada Lovelace")
    page.get_by_label("Email").fill("ada@example.com")
    page.get_by_label(re.compile(r"^Currency")).select_option("USD")
    click_through(page, page.get_by_role("button", name="Add customer"))
    assert page.get_by_role("heading", level=1).inner_text().startswith("Ada Lovelace")
    assert "Not invited" in page.get_by_role("main").inner_text()
    overview = page.url

    # A subscription to the new plan, starting today.
    click_through(page, page.get_by_role("button", name="New subscription"))
    page.get_by_label(re.compile(r"^Plan")).select_option(label="Starter")
    click_through(page, page.get_by_role("button", name="Create subscription"))
    assert re.search(r"SUB-\d+ was created", page.get_by_role("main").inner_text())

    # The invitation (htmx swaps the portal box in place).
    visit(page, urlsplit(overview).path)
    page.get_by_role("button", name="Invite to portal").click()
    portal = page.locator("#admin-customer-portal")
    portal.get_by_text("Invited, no password yet").wait_for()
    check_page(page)
    logout(page)

    # The customer follows the mailed link, sets a password and sees the subscription.
    mails = [m for m in mail_sink.wait_for(1) if m["To"] == "ada@example.com"]
    assert len(mails) == 1 and "invitation" in mails[0]["Subject"].lower()
    visit(page, urlsplit(link_in(mails[0])).path)
    page.get_by_label(re.compile(r"^New password")).fill(PASSWORD)
    page.get_by_label("Confirm new password").fill(PASSWORD)
    click_through(page, page.get_by_role("button", name="Set password"))
    assert path_of(page) == "/"  # the link signs her in
    click_through(page, page.get_by_role("link", name="Subscriptions"))
    listing = page.get_by_role("main").inner_text()
    assert "Starter" in listing and "Starts on" in listing  # a future subscription, in her words


def test_every_back_office_page_is_accessible(page, demo_data):
    login(page, *demo.ADMIN)
    jane = demo_data.jane_customer_id
    for path in ("/admin/customers", "/admin/customers/new", f"/admin/customers/{jane}",
                 f"/admin/customers/{jane}/edit", "/admin/catalog", "/admin/catalog/plans/new",
                 "/admin/catalog/addons/new", "/admin/catalog/coupons/new",
                 "/admin/catalog/coupons/1/edit", f"/admin/customers/{jane}/subscriptions/new",
                 "/admin/subscriptions/1", f"/admin/customers/{jane}/invoices/new",
                 "/admin/invoices/1", f"/admin/customers/{jane}/payments/new",
                 "/admin/import", "/admin/audit"):
        visit(page, path)
