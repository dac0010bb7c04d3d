"""A customer with 1,000 invoices costs each page the same SQL as a customer with two."""

import re

import pytest

from tests.conftest import Auth
from tests.factories import make_customer, make_invoice, make_subscription, pay
from tests.web.app.test_query_counts import count_queries
from webapp.db import db
from webapp.demo import scale as demo_scale

PAGES = ["/", "/subscriptions", "/subscriptions?status=live", "/invoices", "/invoices?page=30",
         "/invoices?status=paid&sort=oldest", "/invoices?status=overdue", "/payments",
         "/payments?page=20", "/credits"]
SMALL = ("two-invoices@example.com", "long-enough-pw")


@pytest.fixture
def customers(app, seeded, now):
    """The small customer from factories; the long history from the scale seeder."""
    with app.app_context():
        small = make_customer(db.session, now=now, email=SMALL[0], password=SMALL[1])
        make_subscription(db.session, customer=small, now=now)
        first = make_invoice(db.session, customer=small, now=now)
        make_invoice(db.session, customer=small, now=now, amount=2500)
        pay(db.session, customer=small, invoices=[first], amount=first.total, now=now)
        for _ in demo_scale.seed_scale(db.session, customers=0, now=now, long_history=1000):
            db.session.flush()
        db.session.commit()


def _counts(app, engine, email, password):
    client = app.test_client()
    Auth(client).login(email, password)
    listing = client.get("/invoices").get_data(as_text=True)
    newest = re.search(r'href="/invoices/(\d+)"', listing).group(1)
    counts = {}
    for path, htmx in [(p, False) for p in PAGES] + [("/invoices?status=paid", True),
                                                     (f"/invoices/{newest}", False)]:
        with count_queries(app.extensions["database"]) as statements:
            response = client.get(path, headers={"HX-Request": "true"} if htmx else {})
        assert response.status_code == 200, path
        counts[re.sub(r"/invoices/\d+", "/invoices/<id>", path) + (" (htmx)" if htmx else "")] = \
            len(statements)
    return counts


def test_a_thousand_invoices_cost_no_more_queries_than_two(app, engine, customers):
    small = _counts(app, engine, *SMALL)
    large = _counts(app, engine, demo_scale.BENCH_EMAIL, demo_scale.PASSWORD)
    # The deep pages are past the small customer's last page, where the count runs as its own
    # statement (listing.counted_page): there the long history costs one statement less.
    deep = {"/invoices?page=30", "/payments?page=20"}
    assert {p: n for p, n in large.items() if p not in deep} == \
        {p: n for p, n in small.items() if p not in deep}, (small, large)
    assert all(large[p] == small[p] - 1 for p in deep), (small, large)
    assert max(large.values()) <= 8, large


def test_the_long_history_customer_really_has_a_thousand_invoices(app, customers, auth):
    auth.login(demo_scale.BENCH_EMAIL, demo_scale.PASSWORD)
    body = auth.client.get("/invoices").get_data(as_text=True)
    total = int(re.search(r"· (\d+) in all", body).group(1))
    assert 950 <= total <= 1100
