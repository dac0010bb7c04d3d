"""webapp/modules.py, the one way to switch a module off: one table, one guard, the sidebar."""

from __future__ import annotations

import pytest

from webapp import modules, nav
from webapp.db import db
from webapp.models import Preferences


@pytest.mark.parametrize(("endpoint", "module"), [
    ("invoices.index", "invoices"), ("credits.detail", "invoices"),
    ("subscription_actions.cancel", "subscriptions"), ("documents.receipt_pdf", "payments"),
    ("documents.invoice_pdf", "invoices"), ("documents.forward_status", None),
    ("home.index", None), ("outer.reviews.index", "reviews"), (None, None), ("static", None),
])
def test_a_page_belongs_to_its_own_entry_else_to_its_blueprints(endpoint, module):
    assert modules.module_of(endpoint) == module


def test_every_module_named_is_one_the_preferences_switch():
    modules.check(modules.MODULES)
    with pytest.raises(ValueError, match="teleports"):
        modules.check({"x": "teleports"})


def test_every_endpoint_the_table_names_exists(app):
    names = set(app.view_functions) | set(app.blueprints)
    assert set(modules.MODULES) <= names


def test_every_sidebar_entry_of_a_switched_module_is_in_the_table():
    assert {modules.module_of(e.endpoint) for e in nav.CUSTOMER_NAV} - {None} == {
        "subscriptions", "invoices", "payments", "payment_methods", "statements", "estimates",
        "projects", "timesheets", "profile", "reviews"}


def test_a_document_of_a_switched_off_module_answers_404(app, seeded, auth, client):
    auth.login()
    with app.app_context():
        db.session.get(Preferences, 1).module_payments = False
        db.session.commit()
    assert client.get("/payments/1.pdf").status_code == 404
    assert client.get("/payments/1.pdf", headers={"HX-Request": "true"}).status_code == 404
