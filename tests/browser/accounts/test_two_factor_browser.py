"""Two-factor sign-in in chromium: Jane sets it up by reading the key from the page (the test
is her authenticator app), then signs in with a code, and with a recovery code. The server's
clock is pinned at FIXED_NOW, so each sign-in's code is that of a later time step."""

from __future__ import annotations

from datetime import timedelta

import pyotp

from tests.browser.support import check_page, click_through, login, logout, path_of, visit
from tests.conftest import FIXED_NOW
from webapp import demo


def _code_step(page, code: str) -> None:
    assert path_of(page) == "/login/code"
    page.get_by_label("Code").fill(code)
    with page.expect_navigation():  # htmx posts it, and is told to navigate (HX-Redirect)
        page.get_by_role("button", name="Sign in").click()
    check_page(page)


def test_jane_turns_on_two_factor_and_signs_in_with_a_code_then_a_recovery_code(page):
    login(page, *demo.JANE)
    visit(page, "/account")
    click_through(page, page.get_by_role("button", name="Set up two-factor sign-in"))
    assert page.locator("figure.qr-code svg").count() == 1
    secret = page.locator("#two-factor-secret").get_attribute("data-secret")
    app = pyotp.TOTP(secret)
    page.get_by_label("Code from the app").fill(app.at(FIXED_NOW))
    page.get_by_role("button", name="Turn on two-factor sign-in").click()  # htmx swaps the panel
    page.wait_for_selector("#recovery-codes")
    check_page(page)
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    with page.expect_download() as download:
        page.get_by_role("button", name="Download as a text file").click()
    assert codes[0] in download.value.path().read_text()
    click_through(page, page.get_by_role("button", name="I have saved them"))
    assert "10 recovery codes left" in page.get_by_role("main").inner_text()

    logout(page)
    login(page, *demo.JANE)
    _code_step(page, app.at(FIXED_NOW + timedelta(seconds=30)))
    assert path_of(page) == "/"

    logout(page)
    login(page, *demo.JANE)
    _code_step(page, codes[0])
    assert path_of(page) == "/"
    visit(page, "/account")
    main = page.get_by_role("main").inner_text()
    assert "9 recovery codes left" in main and "Password + recovery code" in main
