"""The checks every browser test relies on do catch what they are there to catch."""

from __future__ import annotations

import pytest

from tests.browser.support import check_page, visit, watch_of


def test_an_inline_style_on_a_page_is_reported_as_a_csp_violation(page):
    visit(page, "/login")
    page.evaluate("document.querySelector('h1').setAttribute('style', 'color: red')")
    page.wait_for_timeout(100)

    watch = watch_of(page)
    assert watch.csp_violations and "style-src" in watch.csp_violations[0]
    watch.csp_violations.clear()


def test_an_image_without_alt_text_fails_the_accessibility_check(page_without_js):
    visit(page_without_js, "/login")
    page_without_js.evaluate(
        "document.querySelector('main').append(Object.assign(document.createElement('img'),"
        " {src: 'data:image/gif;base64,R0lGODlhAQABAAAAACw=', width: 10, height: 10}))")

    with pytest.raises(AssertionError, match="image-alt"):
        check_page(page_without_js)
    page_without_js.reload()
    check_page(page_without_js)


def test_a_page_left_without_an_accessibility_check_fails_the_test(page):
    visit(page, "/login")
    page.goto("/login?again=1")
    page.goto("/login?third=1")

    with pytest.raises(AssertionError, match=r"again=1"):
        watch_of(page).finish()
    watch_of(page).unchecked_urls.clear()
