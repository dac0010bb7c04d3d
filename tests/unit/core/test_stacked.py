"""Several reads as one statement (services/core/stacked.py), on both databases."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam, func, select

from tests.factories import make_customer, make_invoice, make_subscription
from tests.web.app.test_query_counts import count_queries
from webapp.models import Customer, Invoice, Subscription
from webapp.services.core.stacked import Stack, numbered


def _invoices_newest_first(limit: int):
    return (select(Invoice.id, Invoice.number, Invoice.issue_date, Invoice.total)
            .where(Invoice.customer_id == bindparam("customer_id"))
            .order_by(Invoice.issue_date.desc(), Invoice.id.desc()).limit(limit))


def test_each_part_comes_back_in_its_own_order_with_its_own_types(session, now):
    customer = make_customer(session, now=now)
    made = [make_invoice(session, customer=customer, now=now - timedelta(days=d),
                         amount=1000 + d) for d in (3, 1, 2, 5, 4)]
    subscription = make_subscription(session, customer=customer, now=now)
    session.commit()
    stack = Stack(
        summary=select(Customer.id, Customer.display_name, Customer.created_at)
        .where(Customer.id == bindparam("customer_id")),
        newest=_invoices_newest_first(3),
        oldest=select(Invoice.id, Invoice.issue_date)
        .where(Invoice.customer_id == bindparam("customer_id"))
        .order_by(Invoice.issue_date, Invoice.id).limit(2),
        subscriptions=select(Subscription.id, Subscription.start_date)
        .where(Subscription.customer_id == bindparam("customer_id")),
        nothing=select(Invoice.id).where(Invoice.customer_id == -1).order_by(Invoice.id))
    with count_queries(session.get_bind()) as statements:
        found = stack.read(session, {"customer_id": customer.id})
    assert len([s for s in statements if s != "BEGIN"]) == 1
    by_day = sorted(made, key=lambda i: (i.issue_date, i.id))
    assert [row.id for row in found["newest"]] == [i.id for i in reversed(by_day)][:3]
    assert [row.id for row in found["oldest"]] == [i.id for i in by_day][:2]
    assert found["newest"][0].issue_date == by_day[-1].issue_date  # a date, not text
    assert found["newest"][0].total == by_day[-1].total
    (summary,) = found["summary"]
    assert summary.display_name == customer.display_name
    assert summary.created_at == customer.created_at  # aware UTC, as the column type gives
    assert [(row.id, row.start_date) for row in found["subscriptions"]] == [
        (subscription.id, subscription.start_date)]
    assert found["nothing"] == []


def test_a_part_may_read_from_another_parts_rows(session, now):
    """A page as a CTE, and a part over the page's ids: the second sees only the first's
    rows (offset and limit included)."""
    customer = make_customer(session, now=now)
    for day in range(6):
        make_invoice(session, customer=customer, now=now - timedelta(days=day))
    session.commit()
    page = numbered(_invoices_newest_first(bindparam("limit")).offset(bindparam("offset"))
                    ).cte("page")
    stack = Stack(page=page,
                  totals=select(func.count(), func.sum(Invoice.total))
                  .where(Invoice.id.in_(select(page.c.id))))
    found = stack.read(session, {"customer_id": customer.id, "offset": 2, "limit": 3})
    everything = stack.read(session, {"customer_id": customer.id, "offset": 0, "limit": 6})
    ids = [row.id for row in everything["page"]]
    assert [row.id for row in found["page"]] == ids[2:5]
    assert found["totals"][0][0] == 3


def test_a_fixed_page_reads_the_rows_its_numbers_name(session, now):
    """`fixed_page` writes the offset and the size into the SQL (a plan PostgreSQL can keep):
    the same rows as the parameters would give."""
    from webapp.services.core.stacked import fixed_page

    customer = make_customer(session, now=now)
    for day in range(7):
        make_invoice(session, customer=customer, now=now - timedelta(days=day))
    session.commit()
    paged = _invoices_newest_first(bindparam("limit")).offset(bindparam("offset"))
    everything = Stack(all=_invoices_newest_first(10)).read(
        session, {"customer_id": customer.id})["all"]
    found = Stack(page=fixed_page(paged, 3, offset=2)).read(
        session, {"customer_id": customer.id})["page"]
    assert [row.id for row in found] == [row.id for row in everything][2:5]
    assert "LIMIT 3 OFFSET 2" in str(fixed_page(paged, 3, offset=2).compile(
        session.get_bind())).replace("\n", " ")
