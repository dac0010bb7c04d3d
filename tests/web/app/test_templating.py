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


def test_a_templates_globals_are_one_dict_of_the_environments_and_its_own(app):
    """`PortalEnvironment.make_globals`: a plain dict, so each render copies it at dict speed
    (Jinja's ChainMap was a quarter of a fragment's template path, issue 32)."""
    env = app.jinja_env
    plain = env.from_string("{{ badge('paid', 'Paid') }}")
    own = env.from_string("{{ greeting }} {{ badge('paid', 'Paid') }}", globals={"greeting": "Hi"})
    assert type(plain.globals) is dict and type(own.globals) is dict
    assert plain.globals["badge"] is env.globals["badge"]
    with app.test_request_context():
        assert own.render() == 'Hi <span class="status status-paid">Paid</span>'
        # A template's own globals stay its own: not in the environment, not in another's.
        assert "greeting" not in env.globals and "greeting" not in plain.globals
        own.globals["greeting"] = "Hello"
        assert own.render().startswith("Hello ") and "greeting" not in env.globals


def test_the_portals_pages_see_every_global_set_up_by_the_app(client, app):
    """Every global is set before a template loads (create_app), so a page's snapshot of them
    has each: the CSRF token, url_for, the language switcher, the badge."""
    with app.test_request_context():
        login = app.jinja_env.get_template("auth/login.html")
    for name in ("csrf_token", "url_for", "language_switcher", "badge", "row_link", "_"):
        assert login.globals[name] is app.jinja_env.globals[name], name
    assert 'name="csrf_token"' in client.get("/login").get_data(as_text=True)
