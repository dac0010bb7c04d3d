"""The back office in the reader's language (issue 33): its pages, flash messages, charts,
CSV headers, notifications and the audit trail's customer actions follow the request's
language. A tiny German catalog stands in for the real ones (written later)."""

from __future__ import annotations

import csv
import io

import pytest

from tests.conftest import FIXED_NOW, post_form
from tests.i18n.catalogs import Catalogs
from webapp import create_app, demo
from webapp.db import db
from webapp.models import Organization
from webapp.services.core import notifications

GERMAN = {
    "Notifications": "Benachrichtigungen",
    "%(count)s unread.": "%(count)s ungelesen.",
    "Payment received: %(amount)s from %(customer)s": "Zahlung erhalten: %(amount)s von "
                                                      "%(customer)s",
    "Receipt %(number)s.": "Beleg %(number)s.",
    "Audit log": "Protokoll",
    "A %(rating)s-star review": "Eine Bewertung mit %(rating)s Sternen",
    "MRR at each month's end (%(currency)s)": "MRR am Monatsende (%(currency)s)",
    "Month": "Monat",
    "number": "nummer",
    "Note added.": "Notiz hinzugefügt.",
    "Name": "Name",
}


@pytest.fixture
def translations(service_catalogs):
    service_catalogs.write("de", GERMAN)
    return service_catalogs.root


@pytest.fixture
def german_app(engine, translations):
    """The app with the test catalog, the organization writing in German."""
    app = create_app({
        "TESTING": True, "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "SECRET_KEY": "test-secret-key", "REDIS_URL": None,
        "LOGIN_RATE_LIMIT": "1000 per minute", "FIXED_NOW": FIXED_NOW,
        "BABEL_TRANSLATION_DIRECTORIES": str(translations)})
    with app.app_context():
        demo.seed_demo(db.session, now=FIXED_NOW)
        demo.seed_demo_activity(db.session, now=FIXED_NOW)
        db.session.get(Organization, 1).locale = "de_DE"
        notifications.notify_org(
            db.session, event="payment_received",
            title="Payment received: %(amount)s from %(customer)s", body="Receipt %(number)s.",
            now=FIXED_NOW, params={"amount": "25,00 $", "customer": "Jane Cooper",
                                   "number": "RCT-1"})
        db.session.commit()
    # Flask-Babel keeps a language's catalog once read, for every app of the process: forget
    # the real German another test read, so this app reads the test's.
    catalogs = Catalogs(translations, app)
    catalogs.forget()
    yield app
    catalogs.forget()


@pytest.fixture
def german_admin(german_app):
    client = german_app.test_client()
    from tests.conftest import Auth

    Auth(client).login(*demo.ADMIN)
    return client


def test_the_notifications_read_in_the_admins_language(german_admin):
    page = german_admin.get("/admin/notifications/").get_data(as_text=True)
    assert "<h1>Benachrichtigungen</h1>" in page and "1 ungelesen." in page
    assert "Zahlung erhalten: 25,00 $ von Jane Cooper" in page and "Beleg RCT-1." in page


def test_the_home_charts_activity_and_csv_read_in_the_admins_language(german_admin):
    home = german_admin.get("/admin/").get_data(as_text=True)
    assert "MRR am Monatsende (USD)" in home and ">Monat</text>" in home
    assert "Eine Bewertung mit 5 Sternen" in home  # the demo's customer actions
    rows = list(csv.reader(io.StringIO(german_admin.get(
        "/admin/home/mrr.csv?currency=USD").get_data(as_text=True))))
    assert rows[0][0] == "Monat"
    rows = list(csv.reader(io.StringIO(german_admin.get(
        "/admin/subscriptions.csv").get_data(as_text=True))))
    assert rows[0][0] == "nummer"


def test_the_audit_log_and_a_flash_read_in_the_admins_language(german_admin):
    audit = german_admin.get("/admin/audit").get_data(as_text=True)
    assert "<h1>Protokoll</h1>" in audit and "title: — → Eine Bewertung mit 4 Sternen" in audit
    post_form(german_admin, "/admin/customers/1/notes", {"body": "Hallo"},
              token_from="/admin/customers/1")
    assert "Notiz hinzugefügt." in german_admin.get("/admin/customers/1").get_data(as_text=True)
