"""The admin lists' currency filter: the currencies customers are billed in, each once, in
order, read by walking the currency index (one probe per currency in use, issue 32)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import event

from tests.factories import make_customer
from webapp.services.admin import lists

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def test_no_customer_no_currency(session):
    assert lists.currency_choices(session) == ()


def test_each_currency_in_use_once_in_order(session):
    for n, currency in enumerate(["USD", "EUR", "USD", "JPY", "EUR", "XTS", "USD"]):
        make_customer(session, now=NOW, email=f"c{n}@example.com", currency=currency)
    assert lists.currency_choices(session) == ("EUR", "JPY", "USD", "XTS")


def test_it_is_one_statement(session, engine):
    for n, currency in enumerate(["GBP", "CHF", "GBP"]):
        make_customer(session, now=NOW, email=f"d{n}@example.com", currency=currency)
    session.flush()
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert lists.currency_choices(session) == ("CHF", "GBP")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1
