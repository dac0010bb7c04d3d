"""The engine on PostgreSQL: a representative walk, and two ticks racing."""

import threading
from datetime import date

import pytest
from sqlalchemy import func
from sqlmodel import select

from tests.conftest import wipe
from tests.unit.subscriptions.test_lifecycle import _customer, _plan, _subscribe, _walk
from tests.walk import Walk
from webapp.models import Invoice, Payment


@pytest.fixture
def pg_walk(postgresql_engine):
    wipe(postgresql_engine)
    return Walk(postgresql_engine, date(2026, 1, 5))


def test_monthly_renewals_with_a_dunning_detour_on_postgresql(pg_walk):
    walk = pg_walk
    customer = _customer(walk)
    sub = _subscribe(walk, customer, _plan(walk), card=walk.card(customer))
    walk.tick()
    _walk(walk, 120)
    assert [i.status for i in walk.invoices(sub)] == ["paid"] * 5


def test_two_ticks_at_once_bill_and_charge_each_event_once(pg_walk):
    walk = pg_walk
    plan = _plan(walk)
    subs = []
    for n in range(20):
        customer = _customer(walk, email=f"c{n}@example.com")
        subs.append(_subscribe(walk, customer, plan, card=walk.card(customer)))
    barrier = threading.Barrier(2)
    errors = []

    def run():
        try:
            barrier.wait()
            walk.tick()
        except Exception as exc:  # noqa: BLE001 - surfaced by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    counts = walk.read(lambda s: s.exec(select(Invoice.subscription_id, func.count())
                                        .group_by(Invoice.subscription_id)).all())
    assert sorted(c for _, c in counts) == [1] * 20
    assert walk.gateway.charges_for("") == 20
    assert walk.read(lambda s: s.exec(select(func.count()).select_from(Payment)
                                      .where(Payment.status == "succeeded")).one()) == 20
