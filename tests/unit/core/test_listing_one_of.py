"""`listing.one_of`: a fixed set of values in a statement built once, on both databases."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from tests.factories import make_customer, make_invoice
from webapp.models import Invoice
from webapp.services.core.listing import one_of, read


def _statuses(session, customer_id, condition) -> list[str]:
    statement = (select(Invoice.status)
                 .where(Invoice.customer_id == bindparam("customer_id"), condition)
                 .order_by(Invoice.id))
    return list(read(session, statement, {"customer_id": customer_id}).scalars())


def test_one_of_finds_what_in_finds(session, now):
    customer = make_customer(session, now=now)
    for status in ("open", "paid", "void", "paid"):
        make_invoice(session, customer=customer, now=now).status = status
    session.flush()
    for values in (("paid",), ("paid", "void"), ("draft",)):
        assert _statuses(session, customer.id, one_of(Invoice.status, values)) == \
            _statuses(session, customer.id, Invoice.status.in_(values)), values


def test_one_of_leaves_nothing_to_render_at_each_execution(session):
    """`in_` makes an expanding parameter, written out again at every execution; `one_of`'s
    values are ordinary parameters, so the compiled statement is used as it is."""
    dialect = session.get_bind().dialect
    expanding = select(Invoice.id).where(Invoice.status.in_(("paid", "void")))
    fixed = select(Invoice.id).where(one_of(Invoice.status, ("paid", "void")))
    assert expanding.compile(dialect=dialect).post_compile_params
    assert not fixed.compile(dialect=dialect).post_compile_params
