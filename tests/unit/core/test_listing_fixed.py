"""`listing.fixed`: a statement built once, run by its key, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import Select, bindparam, literal, select

from tests.factories import make_customer, make_invoice
from webapp.models import Invoice
from webapp.services.core.listing import fixed, read


def test_a_fixed_statement_reads_what_the_statement_reads(session, now):
    customer = make_customer(session, now=now)
    for amount in (1000, 2000):
        make_invoice(session, customer=customer, now=now, amount=amount)
    session.flush()
    statement = (select(Invoice.number, Invoice.total)
                 .where(Invoice.customer_id == bindparam("customer_id")).order_by(Invoice.id))
    read_fixed = fixed("test.invoices", statement)
    for _ in range(3):
        assert read(session, read_fixed, {"customer_id": customer.id}).all() == \
            read(session, statement, {"customer_id": customer.id}).all()


def test_two_fixed_statements_keep_their_own_sql(session):
    """Every `fixed` statement is run by the same lambda: its key keeps them apart."""
    first = fixed("test.first", select(literal(1).label("x"), bindparam("p").label("y")))
    second = fixed(("test.second", 2), select(literal(2).label("x"), bindparam("p").label("y")))
    for _ in range(2):
        assert read(session, first, {"p": "a"}).all() == [(1, "a")]
        assert read(session, second, {"p": "b"}).all() == [(2, "b")]


def test_a_fixed_statement_is_not_walked_for_a_cache_key_when_it_runs(session, monkeypatch):
    statement = select(literal(3).label("x"), bindparam("p").label("y"))
    run = fixed("test.walked", statement)
    assert read(session, run, {"p": "c"}).all() == [(3, "c")]  # compiled once

    def walked(*args, **kwargs):
        raise AssertionError("the statement was walked for a cache key")

    monkeypatch.setattr(Select, "_generate_cache_key", walked)
    assert read(session, run, {"p": "d"}).all() == [(3, "d")]
    with pytest.raises(AssertionError):
        read(session, statement, {"p": "e"}).all()  # a plain statement is, every time
