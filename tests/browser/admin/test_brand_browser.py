"""The brand in chromium: the login page's logo and name (axe-clean, no CSP violation), and
the admin choosing a colour (refused, then the suggested shade) and uploading a logo."""

from __future__ import annotations

from io import BytesIO

from PIL import Image

from tests.browser.support import check_page, click_through, login, visit
from webapp import demo

NAME = "Northwind Cloud Ltd"


def _loaded(page, selector: str) -> bool:
    return page.eval_on_selector(selector, "img => img.complete && img.naturalWidth > 0")


def _button_colour(page, selector: str) -> str:
    return page.eval_on_selector(selector, "b => getComputedStyle(b).backgroundColor")


def test_the_login_page_shows_the_logo_and_the_company_name(page):
    visit(page, "/login")
    logo = page.get_by_role("img", name=NAME)
    assert logo.is_visible()
    assert _loaded(page, "img.brand-logo")
    assert page.get_by_text("Northwind Customer Portal").is_visible()
    assert _button_colour(page, "main form button") == "rgb(11, 93, 75)"  # the demo's green, from /brand.css
    icon = page.request.get(page.locator("link[rel=icon]").get_attribute("href"))
    assert icon.ok and icon.headers["content-type"] == "image/png"


def test_the_admin_takes_the_suggested_shade_and_uploads_a_new_logo(page):
    login(page, *demo.ADMIN)
    visit(page, "/admin/brand")
    colour = page.get_by_label("Brand colour")
    colour.fill("#777777")
    page.get_by_role("button", name="Save colour").click()
    message = page.locator("#colour-errors")
    message.wait_for()
    assert "#767676" in message.inner_text()

    page.get_by_label("Brand colour").fill("#767676")
    click_through(page, page.get_by_role("button", name="Save colour"))
    assert page.get_by_text("The brand colour is saved.").is_visible()
    assert _button_colour(page, "#admin-brand-colour button") == "rgb(118, 118, 118)"

    before = page.locator("nav img.brand-logo").get_attribute("src")
    out = BytesIO()
    Image.new("RGB", (300, 100), (118, 118, 118)).save(out, format="PNG")
    page.locator("input#logo").set_input_files(
        files=[{"name": "logo.png", "mimeType": "image/png", "buffer": out.getvalue()}])
    click_through(page, page.get_by_role("button", name="Replace logo"))
    assert page.get_by_text("The new logo is saved.").is_visible()
    assert page.locator("nav img.brand-logo").get_attribute("src") != before
    assert _loaded(page, "nav img.brand-logo")
    check_page(page)
