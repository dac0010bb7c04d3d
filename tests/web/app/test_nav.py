"""The sidebar (webapp/nav.py, base.html): Home, then Billing, Work and Account groups, folded
behind a <details> menu on phones; a module switched off leaves it, an empty group too."""

from __future__ import annotations

from html.parser import HTMLParser

from tests.conftest import Auth
from webapp import demo
from webapp.db import db
from webapp.models import Organization, Preferences


class _Sidebar(HTMLParser):
    """The sidebar as [(group label or None, [link labels])], the current link, the summary."""

    def __init__(self) -> None:
        super().__init__()
        self.groups: list[tuple[str | None, list[str]]] = []
        self.current: list[str] = []
        self.summary = ""
        self._in_nav = self._in_label = self._in_link = self._in_summary = False
        self._link_current = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "nav" and attrs.get("aria-label") == "Portal":
            self._in_nav = True
        if not self._in_nav:
            return
        if tag == "p" and attrs.get("class") == "nav-group":
            self._in_label = True
            self.groups.append(("", []))
        elif tag == "ul" and not (self.groups and self.groups[-1][0] and not self.groups[-1][1]):
            self.groups.append((None, []))
        elif tag == "a":
            self._in_link, self._link_current = True, attrs.get("aria-current") == "page"
        elif tag == "summary":
            self._in_summary = True

    def handle_endtag(self, tag):
        if tag == "nav":
            self._in_nav = False
        self._in_label = self._in_label and tag != "p"
        self._in_link = self._in_link and tag != "a"
        self._in_summary = self._in_summary and tag != "summary"

    def handle_data(self, data):
        if self._in_label:
            self.groups[-1] = (self.groups[-1][0] + data.strip(), [])
        elif self._in_link:
            self.groups[-1][1].append(data.strip())
            if self._link_current:
                self.current.append(data.strip())
        elif self._in_summary:
            self.summary += data.strip()


def _sidebar(client, path="/") -> _Sidebar:
    response = client.get(path)
    assert response.status_code == 200
    parser = _Sidebar()
    parser.feed(response.get_data(as_text=True))
    return parser


def _switch_off(app, *modules: str) -> None:
    with app.app_context():
        prefs = db.session.get(Preferences, 1)
        for module in modules:
            setattr(prefs, f"module_{module}", False)
        db.session.commit()


def test_the_customer_sidebar_shows_home_then_billing_work_and_account(client, auth, seeded):
    auth.login()

    sidebar = _sidebar(client)

    assert sidebar.groups == [
        (None, ["Home"]),
        ("Billing", ["Subscriptions", "Invoices", "Payments Made", "Credits", "Statements",
                     "Payment Methods"]),
        ("Work", ["Estimates", "Projects", "Timesheets"]),
        ("Account", ["Profile", "Reviews", "Account & security"]),
    ]


def test_the_sidebar_folds_behind_a_menu_that_needs_no_javascript(client, auth, seeded):
    auth.login()

    page = client.get("/").get_data(as_text=True)

    nav = page.split('aria-label="Portal"')[1].split("</nav>")[0]
    assert '<details class="nav-menu">' in nav and "Log out" in nav.split("</details>")[0]
    assert _sidebar(client).summary == "Menu"


def test_the_current_page_is_marked_in_its_group(client, auth, seeded):
    auth.login()

    sidebar = _sidebar(client, "/invoices")

    assert sidebar.current == ["Invoices"]
    assert '<a href="/invoices" aria-current="page">Invoices</a>' in client.get(
        "/invoices").get_data(as_text=True)


def test_a_module_switched_off_leaves_its_group(app, client, auth, seeded):
    _switch_off(app, "payments")
    auth.login()

    groups = dict(_sidebar(client).groups)

    assert groups["Billing"] == ["Subscriptions", "Invoices", "Credits", "Statements",
                                 "Payment Methods"]


def test_a_group_whose_modules_are_all_off_is_not_shown(app, client, auth, seeded):
    _switch_off(app, "estimates", "projects", "timesheets")
    auth.login()

    sidebar = _sidebar(client)

    assert [label for label, _ in sidebar.groups] == [None, "Billing", "Account"]
    assert "Work" not in client.get("/").get_data(as_text=True).split("</nav>")[0]


def test_the_admin_sidebar_has_no_groups(app, seeded):
    admin = app.test_client()
    Auth(admin).login(*demo.ADMIN)

    sidebar = _sidebar(admin, "/admin/")

    assert len(sidebar.groups) == 1 and sidebar.groups[0][0] is None
    assert sidebar.groups[0][1][0] == "Admin home" and sidebar.current == ["Admin home"]


def test_the_sidebars_words_are_in_the_readers_language(app, client, auth, seeded):
    """nav.sidebar_for translates its msgids with the page's catalog (here the organization's
    German), the groups' headings too."""
    with app.app_context():
        db.session.get(Organization, 1).locale = "de_DE"
        db.session.commit()
    auth.login()

    sidebar = _sidebar(client, "/invoices")

    assert sidebar.groups[1][0] == "Abrechnung" and "Rechnungen" in sidebar.groups[1][1]
    assert sidebar.groups[3] == ("Konto", ["Profil", "Bewertungen", "Konto & Sicherheit"])
    assert sidebar.current == ["Rechnungen"]
    assert ">Konto &amp; Sicherheit</a>" in client.get("/").get_data(as_text=True)
