"""Sessions you can see and end, in chromium: one browser signs another out."""

from __future__ import annotations

from tests.browser.support import check_page, click_through, login, path_of, visit
from webapp import demo

PHONE_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")


def test_jane_signs_out_her_phone_from_her_laptop_and_the_phone_lands_on_login(open_page):
    phone = open_page(user_agent=PHONE_UA)
    login(phone, *demo.JANE)
    laptop = open_page()
    login(laptop, *demo.JANE)

    click_through(laptop, laptop.get_by_role("navigation").get_by_role(
        "link", name="Account & security"))
    devices = laptop.locator("#account-sessions")
    assert devices.get_by_text("This device").count() == 1
    phone_row = devices.locator("tr", has_text="Mobile Safari on iOS")
    assert phone_row.count() == 1
    with laptop.expect_response(lambda r: "/account/sessions/" in r.url
                                and r.request.headers.get("hx-request") == "true"):
        phone_row.get_by_role("button", name="Sign out").click()
    laptop.wait_for_selector("#account-sessions >> text=That device has been signed out.")
    assert devices.locator("tr", has_text="Mobile Safari on iOS").count() == 0
    check_page(laptop)

    click_through(phone, phone.get_by_role("navigation").get_by_role("link", name="Invoices"))
    assert path_of(phone) == "/login"
    visit(laptop, "/invoices")  # the laptop goes on


def test_jane_signs_out_everywhere_else_without_javascript(open_page):
    other = open_page()
    login(other, *demo.JANE)
    page = open_page(javascript=False)
    login(page, *demo.JANE)
    visit(page, "/account")
    click_through(page, page.get_by_role("button", name="Sign out everywhere else"))

    assert path_of(page) == "/account"
    assert "Every other device has been signed out." in page.get_by_role("main").inner_text()
    assert page.locator("#account-sessions tbody tr").count() == 1
    click_through(other, other.get_by_role("navigation").get_by_role("link", name="Home"))
    assert path_of(other) == "/login"
