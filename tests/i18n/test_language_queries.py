"""Choosing the words' language adds no SQL statement: it reads what the login statement read
(the user's locale, the customer's, the organization), or, before sign-in, a cookie and a
header, then the organization the page reads anyway."""

from __future__ import annotations

import pytest
from sqlmodel import select

from tests.conftest import Auth
from tests.i18n.catalogs import GERMAN
from tests.web.app.test_query_counts import count_queries
from webapp import demo
from webapp.db import db
from webapp.languages import COOKIE
from webapp.models import Customer, User


@pytest.fixture
def german(catalogs):
    catalogs.write("de", GERMAN)


def _statements(app, client, path: str, **headers) -> tuple[int, bool]:
    with count_queries(app.extensions["database"]) as statements:
        page = client.get(path, headers=headers)
    assert page.status_code == 200
    return len(statements), "Sprache ändern" in page.get_data(as_text=True)


def _begin(app) -> int:
    return 1 if app.extensions["database"].dialect.name == "sqlite" else 0  # our own BEGIN


def test_a_customers_language_is_read_with_the_login(app, seeded, german):
    """Omar (de_DE) reads German; the dashboard is still the login and one statement."""
    client = app.test_client()
    Auth(client).login(*demo.OMAR)
    german_count, in_german = _statements(app, client, "/")
    assert in_german and german_count == 2 + _begin(app)
    with app.app_context():
        db.session.get(Customer, seeded.omar_customer_id).locale = None
        db.session.commit()
    english_count, in_german = _statements(app, client, "/")
    assert not in_german and english_count == german_count


def test_an_admins_language_is_read_with_the_login(app, seeded, german):
    client = app.test_client()
    Auth(client).login(*demo.ADMIN)
    english_count, in_german = _statements(app, client, "/admin/customers")
    assert not in_german
    with app.app_context():
        db.session.exec(select(User).where(User.email == demo.ADMIN[0])).one().locale = "de_DE"
        db.session.commit()
    german_count, in_german = _statements(app, client, "/admin/customers")
    assert in_german and german_count == english_count


def test_a_visitors_language_costs_no_statement(app, seeded, german):
    client = app.test_client()
    plain, in_german = _statements(app, client, "/login")
    assert not in_german
    by_header, in_german = _statements(app, client, "/login", **{"Accept-Language": "de"})
    assert in_german and by_header == plain
    client.set_cookie(COOKIE, "de")
    by_cookie, in_german = _statements(app, client, "/login")
    assert in_german and by_cookie == plain
