"""Start and sign in, in chromium: log in, change the password, log out, the admin, layout."""

from __future__ import annotations

from tests.browser.support import (
    check_page,
    click_through,
    login,
    logout,
    path_of,
    visit,
    watch_of,
)
from webapp import demo

NEW_PASSWORD = "a-new-portal-password"
NO_HORIZONTAL_SCROLL = "document.documentElement.scrollWidth <= window.innerWidth"


def test_jane_logs_in_and_sees_home(page):
    login(page, *demo.JANE)

    assert path_of(page) == "/"
    assert page.get_by_role("heading", level=1).inner_text() == "Home"
    assert page.get_by_role("navigation", name="Portal").get_by_role(
        "link", name="Home").get_attribute("aria-current") == "page"


def test_a_wrong_password_keeps_jane_on_the_login_page_with_a_message(page):
    visit(page, "/login")
    page.get_by_label("Email").fill(demo.JANE[0])
    page.get_by_label("Password").fill("not-her-password")
    click_through(page, page.get_by_role("button", name="Log in"))

    assert path_of(page) == "/login"
    assert page.get_by_role("alert").inner_text() == "The email or password is not correct."


def test_jane_changes_her_password_and_logs_in_again_with_the_new_one(page):
    login(page, *demo.JANE)
    click_through(page, page.get_by_role("navigation").get_by_role(
        "link", name="Account & security"))
    page.get_by_label("Current password").fill(demo.JANE[1])
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm new password").fill(NEW_PASSWORD)
    click_through(page, page.get_by_role("button", name="Change password"))
    assert "Your password has been changed" in page.get_by_role("main").inner_text()

    logout(page)
    assert path_of(page) == "/login"
    login(page, demo.JANE[0], NEW_PASSWORD)

    assert page.get_by_role("heading", level=1).inner_text() == "Home"


def test_a_too_short_new_password_is_refused_next_to_the_field(page):
    login(page, *demo.JANE)
    visit(page, "/account")
    page.get_by_label("Current password").fill(demo.JANE[1])
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("Confirm new password").fill("short")
    page.get_by_role("button", name="Change password").click()
    page.wait_for_selector("#new_password[aria-invalid=true]")
    check_page(page)

    new_password = page.get_by_label("New password", exact=True)
    assert new_password.get_attribute("aria-invalid") == "true"
    assert "at least 10 characters" in new_password.evaluate(
        "e => e.getAttribute('aria-describedby').split(' ')"
        ".map(id => document.getElementById(id).textContent).join(' ')")


def test_jane_logs_in_and_out_with_javascript_disabled(page_without_js):
    page = page_without_js
    login(page, *demo.JANE)
    assert page.get_by_role("heading", level=1).inner_text() == "Home"
    assert page.evaluate("typeof window.htmx") == "undefined"

    logout(page)

    assert "You have logged out." in page.get_by_role("main").inner_text()


def test_pages_load_their_scripts_without_content_security_policy_violations(page):
    login(page, *demo.JANE)
    visit(page, "/account")

    assert page.evaluate("typeof window.htmx") == "object"
    assert watch_of(page).csp_violations == []


def test_the_admin_logs_in_and_sees_the_admin_page(page):
    login(page, *demo.ADMIN)

    assert path_of(page) == "/admin/"  # the admin home (issue 31): the business at a glance
    assert page.get_by_role("heading", level=1).inner_text() == \
        "Northwind Cloud Ltd at a glance"


def test_on_a_phone_the_sidebar_and_content_fit_without_sideways_scrolling(open_page):
    page = open_page(viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True)
    login(page, *demo.JANE)

    assert page.get_by_role("navigation", name="Portal").is_visible()
    assert page.get_by_role("main").is_visible()
    assert page.evaluate(NO_HORIZONTAL_SCROLL)


def test_a_printed_page_leaves_out_the_sidebar(page):
    login(page, *demo.JANE)
    page.emulate_media(media="print")

    sidebar = page.get_by_role("navigation", name="Portal", include_hidden=True)
    assert sidebar.count() == 1 and sidebar.is_hidden()
    assert page.get_by_role("heading", level=1).is_visible()
