import re
from html.parser import HTMLParser

import pytest
from flask import Blueprint, render_template_string
from sqlalchemy import event

from tests.conftest import Auth, post_form
from webapp import demo, modules, nav, permissions
from webapp.db import db
from webapp.login import customer_required
from webapp.services.core import preferences

PAGE = "/admin/preferences"


class _FormReader(HTMLParser):
    """What a browser would submit for the page's preferences form, unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("name") and a.get("name") != "csrf_token":
            if a.get("type") != "checkbox" or "checked" in a:
                self.data[a["name"]] = a.get("value") or ""
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self.data[self._select] = a["value"]
        elif tag == "textarea":
            self._textarea = a["name"]
            self.data[self._textarea] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] += data


def _saved_form(client) -> dict[str, str]:
    reader = _FormReader()
    reader.feed(client.get(PAGE).get_data(as_text=True))
    text = reader.data
    return {k: v.removeprefix("\r\n").removeprefix("\n") if k in (
        "cancellation_reasons", "retention_offer_text", "banner_text", "address") else v
        for k, v in text.items()}


def _save(client, **changes):
    """Submit the page as shown, with `changes` typed in; False unticks a switch."""
    data = {**_saved_form(client), **changes}
    return post_form(client, PAGE, {k: v for k, v in data.items() if v is not False})


@pytest.fixture
def admin(client, auth, seeded):
    auth.login(*demo.ADMIN)
    return client


def _set(app, **changes) -> None:
    """Change preferences the way the admin page does, between two requests."""
    with app.app_context():
        preferences.update(db.session, actor_user_id=None, changes=changes,
                           now=app.config["FIXED_NOW"])
        db.session.commit()


def _load(app):
    with app.app_context():
        return preferences.load(db.session)


# --- The admin page --------------------------------------------------------------------------

def test_the_admin_page_shows_every_group_of_preferences(admin):
    page = admin.get(PAGE).get_data(as_text=True)
    for legend in ("Modules", "Trials", "Edit subscription", "Auto-charge", "Pause &amp; resume",
                   "Cancellation", "Reactivation", "Documents", "Profile", "Reviews", "Payments",
                   "Notifications", "Dunning", "Reminders", "Overdue invoices",
                   "Portal access", "Portal", "Organization"):
        assert f"<h2>{legend}</h2>" in page
    assert 'name="retention_coupon_code"' in page and 'name="tax_rate"' in page


def test_preferences_is_in_the_admin_sidebar(admin):
    page = admin.get("/admin/").get_data(as_text=True)
    assert f'<a href="{PAGE}">Preferences</a>' in page


def test_saving_the_page_unchanged_changes_nothing(admin):
    response = _save(admin)
    assert response.status_code == 303
    assert "Nothing changed." in admin.get(PAGE).get_data(as_text=True)


def test_saving_shows_what_changed_and_the_history_keeps_it(admin, app):
    response = _save(admin, module_invoices=False, pause_max_days="120")
    assert response.status_code == 303 and response.headers["Location"] == PAGE
    page = admin.get(PAGE).get_data(as_text=True)
    assert "Invoices: on → off" in page and "Longest pause (days): 90 → 120" in page
    history = page.split('id="preferences-history"')[1]
    assert "admin@example.com" in history and "Invoices: on → off" in history
    assert _load(app).pause_max_days == 120


def test_validation_errors_keep_the_form_and_save_nothing(admin, app):
    response = _save(admin, module_invoices=False, pause_max_days="0",
                     dunning_retry_days="7, 3", locale="xx_YY")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Nothing was saved" in page
    assert 'id="pause_max_days-errors"' in page and "from 1 to 365" in page
    assert 'id="dunning_retry_days-errors"' in page and "ascending order" in page
    assert 'id="locale-errors"' in page
    assert 'value="7, 3"' in page and 'value="xx_YY"' in page  # what was typed is kept
    assert 'id="module_invoices" name="module_invoices" role="switch"' in page
    prefs = _load(app)
    assert prefs.module_invoices and prefs.pause_max_days == 90


def test_the_overdue_settings_are_on_the_page_and_saved_with_the_others(admin, app):
    page = admin.get(PAGE).get_data(as_text=True)
    assert 'name="overdue_reminder_days" type="text" value="1, 7, 14"' in page
    assert '<option selected value="nothing">' in page and 'name="overdue_action_days"' in page
    response = _save(admin, overdue_reminder_days="2, 10", overdue_action="cancelled",
                     overdue_action_days="60")
    assert response.status_code == 303
    page = admin.get(PAGE).get_data(as_text=True)
    assert "Remind about an unpaid invoice (days past due): 1, 7, 14 → 2, 10" in page
    assert "When an invoice stays unpaid: Nothing: keep renewing and reminding → Cancel the " \
           "subscription" in page
    prefs = _load(app)
    assert (prefs.overdue_reminder_days, prefs.overdue_action, prefs.overdue_action_days) == (
        [2, 10], "cancelled", 60)


def test_bad_overdue_settings_are_refused_next_to_their_fields(admin, app):
    response = _save(admin, overdue_reminder_days="14, 7", overdue_action_days="400")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="overdue_reminder_days-errors"' in page and 'value="14, 7"' in page
    assert "List the reminder days in ascending order" in page
    assert 'id="overdue_action_days-errors"' in page and "from 1 to 365" in page
    assert _load(app).overdue_action_days == 30


def test_text_that_is_not_a_number_is_refused_next_to_its_field(admin, app):
    response = _save(admin, trial_max_extensions="two", dunning_retry_days="1, three")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="trial_max_extensions-errors"' in page
    assert "Enter whole numbers separated by commas" in page


def test_the_organization_details_show_in_the_footer_after_saving(admin, app):
    _save(admin, phone="+44 20 7946 0000", tax_rate="7.5", name="Northwind Cloud plc")
    page = admin.get(PAGE).get_data(as_text=True)
    footer = page.split('class="site-footer"')[1]
    assert "+44 20 7946 0000" in footer and "Northwind Cloud plc" in footer
    assert "Tax rate (%): 20% → 7.5%" in page


def test_customers_get_404_on_the_admin_preferences_page(client, auth, seeded):
    auth.login()
    assert client.get(PAGE).status_code == 404
    response = post_form(client, PAGE, {"module_invoices": "y"}, token_from="/")
    assert response.status_code == 404


def test_saving_preferences_needs_a_csrf_token(admin, app):
    data = _saved_form(admin)
    data.pop("module_invoices")
    response = admin.post(PAGE, data=data)
    assert response.status_code == 400
    assert _load(app).module_invoices


# --- The customer side obeys -----------------------------------------------------------------

CUSTOMER_MODULES = sorted(preferences.MODULE_ACTIONS)


def _switch_off(module: str) -> dict:
    action = preferences.MODULE_ACTIONS[module]
    return {"reviews": False} if action == preferences.REVIEWS else {
        action.replace("module.", "module_"): False}


@pytest.fixture
def probe(app, monkeypatch):
    """A test-only blueprint: one page per module (guarded once `probe_nav` lists them in
    modules.MODULES), a blueprint and a view the table switches, and an action's page."""
    pages = Blueprint("probe", __name__, url_prefix="/probe")

    def page(module):
        @customer_required
        def view():
            return render_template_string(
                "{% extends 'base.html' %}{% block content %}<h1>{{ m }}</h1>"
                "{% if can('subscription.cancel') %}<button>Cancel subscription</button>"
                "{% endif %}{% endblock %}", m=module)
        return view

    for module in CUSTOMER_MODULES:
        sub = Blueprint(f"probe_{module}", __name__, url_prefix=f"/{module}")
        sub.add_url_rule("/", "index", page(module))
        pages.register_blueprint(sub)

    guarded = Blueprint("guarded", __name__, url_prefix="/guarded")
    guarded.add_url_rule("/", "index", lambda: "estimates page")
    pages.register_blueprint(guarded)

    @pages.get("/projects")
    def projects():
        return "projects page"

    monkeypatch.setitem(modules.MODULES, "guarded", "estimates")  # a whole blueprint
    monkeypatch.setitem(modules.MODULES, "probe.projects", "projects")  # one view

    @pages.get("/cancel")
    @customer_required
    @permissions.action_required(preferences.SUBSCRIPTION_CANCEL)
    def cancel():
        return "the cancel page"

    app.register_blueprint(pages)
    return {m: f"/probe/{m}/" for m in CUSTOMER_MODULES}


@pytest.fixture
def probe_nav(monkeypatch, probe):
    entries = tuple(nav.NavEntry(f"Probe {m}", f"probe.probe_{m}.index")
                    for m in CUSTOMER_MODULES)
    monkeypatch.setattr(nav, "CUSTOMER_NAV", nav.CUSTOMER_NAV + entries)
    for m in CUSTOMER_MODULES:
        monkeypatch.setitem(modules.MODULES, f"probe_{m}", m)


@pytest.mark.parametrize("module", CUSTOMER_MODULES)
def test_a_module_switched_off_leaves_the_sidebar_and_its_urls_answer_404(
        app, probe, probe_nav, client, auth, seeded, module):
    auth.login()
    assert f"Probe {module}</a>" in client.get(probe[module]).get_data(as_text=True)
    _set(app, **_switch_off(module))
    home = client.get("/").get_data(as_text=True)
    assert f"Probe {module}</a>" not in home
    assert all(f"Probe {m}</a>" in home for m in CUSTOMER_MODULES if m != module)
    assert client.get(probe[module]).status_code == 404


def test_a_blueprint_or_a_view_without_a_sidebar_entry_is_switched_by_the_same_table(
        app, probe, client, auth, seeded):
    auth.login()
    assert client.get("/probe/guarded/").status_code == 200
    assert client.get("/probe/projects").status_code == 200
    _set(app, module_estimates=False, module_projects=False)
    assert client.get("/probe/guarded/").status_code == 404
    assert client.get("/probe/projects").status_code == 404


def test_a_page_the_table_does_not_name_is_not_switched_off(
        app, probe, client, auth, seeded):
    auth.login()
    _set(app, module_timesheets=False)
    assert client.get(probe["timesheets"]).status_code == 200


def test_guarding_an_unknown_module_is_a_programming_error():
    with pytest.raises(ValueError):
        modules.check({"probe": "teleports"})
    with pytest.raises(ValueError):
        permissions.action_required("subscription.teleport")


def _real_module_page(app, module):
    entry = next((e for e in nav.CUSTOMER_NAV if modules.module_of(e.endpoint) == module),
                 None)
    if entry is None or entry.endpoint not in app.view_functions:
        pytest.skip(f"the {module} module has no customer page yet")
    with app.test_request_context():
        from flask import url_for

        return entry.label, url_for(entry.endpoint)


@pytest.mark.parametrize("module", CUSTOMER_MODULES)
def test_a_real_module_switched_off_is_hidden_and_answers_404(app, client, auth, seeded,
                                                              module):
    label, url = _real_module_page(app, module)
    auth.login()
    assert client.get(url).status_code == 200
    assert f">{label}</a>" in client.get("/").get_data(as_text=True)
    _set(app, **_switch_off(module))
    assert f">{label}</a>" not in client.get("/").get_data(as_text=True)
    assert client.get(url).status_code == 404


def test_an_action_switched_off_shows_no_button_and_its_url_answers_404(
        app, probe, client, auth, seeded):
    auth.login()
    assert "<button>Cancel subscription</button>" in client.get(probe["invoices"]).get_data(
        as_text=True)
    assert client.get("/probe/cancel").status_code == 200
    _set(app, cancel_subscription=False)
    assert "Cancel subscription" not in client.get(probe["invoices"]).get_data(as_text=True)
    assert client.get("/probe/cancel").status_code == 404


def test_an_action_answers_404_while_its_module_is_off(app, probe, client, auth, seeded):
    auth.login()
    _set(app, module_subscriptions=False)
    assert client.get("/probe/cancel").status_code == 404


def test_the_admins_change_takes_effect_on_the_customers_next_request(
        app, probe, probe_nav, client, auth, seeded):
    auth.login()
    assert client.get(probe["invoices"]).status_code == 200
    admin = app.test_client()
    Auth(admin).login(*demo.ADMIN)
    assert _save(admin, module_invoices=False).status_code == 303
    assert client.get(probe["invoices"]).status_code == 404
    assert _save(admin, module_invoices="y").status_code == 303
    assert client.get(probe["invoices"]).status_code == 200


def test_preferences_are_read_once_per_request(app, probe, probe_nav, client, auth, seeded):
    """Read with the user and the organization, in one statement."""
    auth.login()
    reads = []

    def count(_conn, _cursor, statement, *_args):
        if re.search(r"\b(FROM|JOIN) preferences\b", statement):
            reads.append(statement)

    engine = app.extensions["database"]
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(probe["invoices"]).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(reads) == 1
    assert re.search(r"\bFROM \"?user\"?\b", reads[0]) and "JOIN organization" in reads[0]
