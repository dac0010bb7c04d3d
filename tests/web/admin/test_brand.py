"""Admin → Brand on the web, and the brand on the pages: the upload and the colour with and
without HX-Request, the public logo, icons and /brand.css, and the login page's logo and name."""

from __future__ import annotations

import re
from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import csrf_token_from, post_form
from webapp import demo

PAGE = "/admin/brand"
NAME = "Northwind Cloud Ltd"


def png(size=(240, 80)) -> bytes:
    out = BytesIO()
    Image.new("RGB", size, (11, 93, 75)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def admin(auth, seeded):
    auth.login(*demo.ADMIN)
    return auth


def upload(client, data: bytes, filename: str = "logo.png", *, htmx: bool = False):
    token = csrf_token_from(client.get(PAGE).get_data(as_text=True))
    headers = {"HX-Request": "true"} if htmx else {"Referer": f"http://localhost{PAGE}"}
    return client.post(f"{PAGE}/logo", data={"csrf_token": token,
                                             "logo": (BytesIO(data), filename)},
                       content_type="multipart/form-data", headers=headers)


def set_colour(client, colour: str, *, htmx: bool = False):
    return post_form(client, f"{PAGE}/colour", {"colour": colour}, htmx=htmx, token_from=PAGE)


def version_in(html: str, endpoint: str) -> str:
    match = re.search(rf'{re.escape(endpoint)}\?v=(\d+)', html)
    assert match, f"no link to {endpoint}"
    return match.group(1)


# --- The pages -------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/login", "/password/forgot"])
def test_the_login_and_password_pages_show_the_logo_with_the_company_name_and_portal_name(
        client, seeded, path):
    html = client.get(path).get_data(as_text=True)
    assert re.search(rf'<img class="brand-logo" src="/brand/logo\?v=\d+" alt="{NAME}">', html)
    assert "Northwind Customer Portal" in html


@pytest.mark.parametrize("path", ["/password/forgot", "/login"])
def test_signed_out_pages_link_the_brand_icons_and_stylesheet(client, seeded, path):
    html = client.get(path).get_data(as_text=True)
    assert re.search(r'<link rel="icon" href="/brand/favicon.png\?v=\d+" type="image/png"', html)
    assert re.search(r'<link rel="apple-touch-icon" href="/brand/touch-icon.png\?v=\d+"', html)
    assert re.search(r'<link rel="stylesheet" href="/brand.css\?v=\d+"', html)


def test_the_portal_header_shows_the_logo_to_customers_and_admins(client, auth, seeded):
    auth.login()
    assert f'alt="{NAME}"' in client.get("/").get_data(as_text=True)
    auth.logout()
    auth.login(*demo.ADMIN)
    assert f'alt="{NAME}"' in client.get("/admin/").get_data(as_text=True)


def test_no_page_carries_an_inline_style(client, admin):
    html = client.get(PAGE).get_data(as_text=True)
    assert "style=" not in html and "<style" not in html


# --- The public files ------------------------------------------------------------------------

def test_the_favicon_is_a_32_pixel_png_cached_for_a_year_at_its_version(client, seeded):
    v = version_in(client.get("/login").get_data(as_text=True), "/brand/favicon.png")
    response = client.get(f"/brand/favicon.png?v={v}")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert Image.open(BytesIO(response.data)).size == (32, 32)
    assert "max-age=31536000" in response.headers["Cache-Control"]


def test_an_icon_asked_for_without_its_version_is_not_cached_for_long(client, seeded):
    assert client.get("/brand/touch-icon.png").headers["Cache-Control"] == "no-cache"


def test_without_a_logo_the_built_in_icon_is_served(client, admin):
    post_form(client, f"{PAGE}/logo/remove", {}, token_from=PAGE)
    response = client.get("/brand/favicon.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    built_in = Path(client.application.static_folder, "brand", "favicon-32.png").read_bytes()
    assert response.data == built_in


def test_brand_css_is_text_css_with_the_colour_and_its_link_changes_with_the_colour(
        client, admin):
    before = version_in(client.get(PAGE).get_data(as_text=True), "/brand.css")
    assert set_colour(client, "#1f4e79").status_code == 303
    html = client.get(PAGE).get_data(as_text=True)
    after = version_in(html, "/brand.css")
    assert after != before
    css = client.get(f"/brand.css?v={after}")
    assert css.mimetype == "text/css"
    assert "--pico-primary: #1f4e79;" in css.get_data(as_text=True)
    assert "max-age=31536000" in css.headers["Cache-Control"]


# --- Uploading a logo ------------------------------------------------------------------------

def test_uploading_a_logo_redirects_with_a_message_and_serves_the_new_logo(client, admin):
    response = upload(client, png())
    assert (response.status_code, response.headers["Location"]) == (303, PAGE)
    html = client.get(PAGE).get_data(as_text=True)
    assert "The new logo is saved." in html
    logo = client.get(f"/brand/logo?v={version_in(html, '/brand/logo')}")
    assert logo.mimetype == "image/png"
    assert Image.open(BytesIO(logo.data)).size == (240, 80)
    assert logo.data != png()


def test_uploading_a_logo_with_htmx_reloads_the_page(client, admin):
    response = upload(client, png(), htmx=True)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == PAGE


@pytest.mark.parametrize("data, filename, message", [
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "logo.png",
     "SVG images are not accepted"),
    (png() + b"<html><script>alert(1)</script></html>", "logo.png",
     "other data after the image"),
])
def test_a_refused_upload_shows_its_message_next_to_the_field_on_the_page(
        client, admin, data, filename, message):
    before = client.get("/brand/logo").data
    response = upload(client, data, filename)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<h1>Brand</h1>" in html
    assert re.search(rf'<small id="logo-errors" class="field-error">[^<]*{message}', html)
    assert client.get("/brand/logo").data == before


def test_a_refused_upload_with_htmx_swaps_only_the_logo_section(client, admin):
    response = upload(client, b"GIF89a" + b"\x00" * 40, "logo.png", htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert html.lstrip().startswith('<section id="admin-brand-logo"')
    assert "GIF images are not accepted" in html
    assert "HX-Request" in response.headers["Vary"]


def test_removing_the_logo_with_htmx_reloads_the_page(client, admin):
    response = post_form(client, f"{PAGE}/logo/remove", {}, htmx=True, token_from=PAGE)
    assert response.headers["HX-Redirect"] == PAGE
    assert "No logo yet" in client.get(PAGE).get_data(as_text=True)


def test_removing_the_logo_says_so(client, admin):
    response = post_form(client, f"{PAGE}/logo/remove", {}, token_from=PAGE)
    assert response.status_code == 303
    assert "No logo yet" in client.get(PAGE).get_data(as_text=True)


# --- The colour ------------------------------------------------------------------------------

def test_a_failing_colour_is_refused_on_the_page_with_the_nearest_passing_shade(client, admin):
    response = set_colour(client, "#777777")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<h1>Brand</h1>" in html
    assert re.search(r'id="colour-errors" class="field-error">[^<]*4\.48:1[^<]*#767676', html)


def test_a_failing_colour_with_htmx_swaps_only_the_colour_section(client, admin):
    response = set_colour(client, "#777777", htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert html.lstrip().startswith('<section id="admin-brand-colour"')
    assert "#767676" in html


def test_a_passing_colour_is_saved_and_shown_in_the_history(client, admin):
    response = set_colour(client, "#767676", htmx=True)
    assert response.headers["HX-Redirect"] == PAGE
    html = client.get(PAGE).get_data(as_text=True)
    assert "The brand colour is saved." in html
    assert "Colour: #0b5d4b → #767676" in html
    assert "admin@example.com" in html


def test_a_new_logo_is_in_the_audit_log(client, admin):
    upload(client, png())
    html = client.get("/admin/audit").get_data(as_text=True)
    assert "brand.logo" in html and "PNG, 240 × 80 px" in html
