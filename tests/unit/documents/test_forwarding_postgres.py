"""The hourly forwarding cap under parallel forwards on PostgreSQL (issue 21, item 8): the
count and the rows written after it are one step, so parallel requests cannot both pass."""

from __future__ import annotations

import threading
import time

import pytest
from sqlmodel import Session, select

from tests.conftest import FIXED_NOW, wipe
from tests.factories import make_customer, make_invoice
from webapp import demo
from webapp.models import DocumentForwardRecipient, Preferences
from webapp.services.core import preferences
from webapp.services.core.errors import InvalidInput
from webapp.services.documents import forwarding


@pytest.fixture
def shop(postgresql_engine):
    wipe(postgresql_engine)
    with Session(postgresql_engine, expire_on_commit=False) as session:
        demo.seed_organization(session, now=FIXED_NOW)
        preferences.seed_demo_preferences(session, now=FIXED_NOW)
        session.get(Preferences, 1).forward_max_recipients_per_hour = 10
        customer = make_customer(session, now=FIXED_NOW, email="jane@example.com")
        invoice = make_invoice(session, customer=customer, now=FIXED_NOW, amount=4200)
        session.commit()
        return postgresql_engine, customer.id, invoice.id


def _forward(session, customer_id, invoice_id, batch):
    addresses = " ".join(f"r{batch}-{n}@example.org" for n in range(8))
    return forwarding.forward(session, customer_id=customer_id, user_id=None, kind="invoice",
                              document_id=invoice_id, contact_ids=(), addresses=addresses,
                              message="", now=FIXED_NOW)


def test_a_forward_waits_for_one_in_flight_and_then_counts_its_recipients(shop):
    engine, customer_id, invoice_id = shop
    outcome = {}

    def second():
        with Session(engine) as session:
            try:
                _forward(session, customer_id, invoice_id, "b")
                session.commit()
                outcome["second"] = "accepted"
            except InvalidInput as refused:
                outcome["second"] = refused.message

    with Session(engine) as first:
        _forward(first, customer_id, invoice_id, "a")  # 8 of 10, not yet committed
        racer = threading.Thread(target=second)
        racer.start()
        time.sleep(0.5)
        assert "second" not in outcome  # it waits for this transaction, it does not race it
        first.commit()
    racer.join(10)
    assert outcome["second"] == "You can forward to 2 more recipient(s) this hour."


def test_twelve_parallel_forwards_never_pass_the_cap(shop):
    engine, customer_id, invoice_id = shop
    barrier = threading.Barrier(12)

    def one(batch):
        with Session(engine) as session:
            barrier.wait()
            try:
                _forward(session, customer_id, invoice_id, batch)
                session.commit()
            except InvalidInput:
                session.rollback()

    threads = [threading.Thread(target=one, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    with Session(engine) as session:
        assert len(session.exec(select(DocumentForwardRecipient)).all()) == 8
