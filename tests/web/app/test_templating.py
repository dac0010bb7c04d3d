"""The template helpers every list uses."""

from __future__ import annotations

from markupsafe import Markup

from webapp.templating import badge


def test_badge_is_a_status_span_with_its_label():
    html = badge("overdue", "Overdue")
    assert isinstance(html, Markup)
    assert html == '<span class="status status-overdue">Overdue</span>'


def test_badge_escapes_both_its_status_and_its_label():
    html = badge('x" onmouseover="alert(1)', "<b>3 overdue</b>")
    assert 'class="status status-x&#34; onmouseover=&#34;alert(1)">' in html
    assert "&lt;b&gt;3 overdue&lt;/b&gt;" in html
    assert "<b>" not in html


def test_a_rendered_list_shows_the_badge(app):
    with app.test_request_context():
        html = app.jinja_env.from_string("{{ badge(s, l) }}").render(s="paid", l="Paid & done")
    assert html == '<span class="status status-paid">Paid &amp; done</span>'


def test_the_favicon_is_served_to_anyone_and_every_page_links_it(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.data.startswith(b"\x00\x00\x01\x00")  # an ICO
    assert icon.mimetype in ("image/x-icon", "image/vnd.microsoft.icon")
    # Pages link the brand's icon (the built-in one without a logo), by its version.
    assert '<link rel="icon" href="/brand/favicon.png?v=' in client.get("/login").get_data(
        as_text=True)
