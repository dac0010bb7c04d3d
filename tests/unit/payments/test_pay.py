"""The pay flow's new card: saved only once a charge with it has succeeded (issue 24)."""

from __future__ import annotations

from contextlib import contextmanager

from sqlmodel import Session, select

from tests.factories import make_customer, make_invoice
from webapp.demo import seed_organization
from webapp.models import Invoice, PaymentMethod
from webapp.services.billing import charges
from webapp.services.billing.gateway import CardDetails, TestGateway
from webapp.services.payments import methods, pay

DECLINED, GOOD = "4000000000000002", "4242424242424242"


def _scope(engine):
    @contextmanager
    def scope():
        with Session(engine, expire_on_commit=False) as session:
            yield session
            session.commit()
    return scope


class _Shop:
    """A customer with no saved card and one open invoice of US$25.00."""

    def __init__(self, engine, now) -> None:
        self.engine, self.now, self.gateway = engine, now, TestGateway(engine)
        with Session(engine, expire_on_commit=False) as session:
            seed_organization(session, now=now)
            customer = make_customer(session, now=now)
            invoice = make_invoice(session, customer=customer, now=now, amount=2500)
            session.commit()
            self.customer_id, self.invoice_id = customer.id, invoice.id

    def pay_with_new_card(self, number: str, key: str, *, save: bool = True) -> charges.Outcome:
        card = CardDetails(number, 12, self.now.year + 3, "123")
        with Session(self.engine, expire_on_commit=False) as session:
            payment = pay.begin(session, customer_id=self.customer_id, gateway=self.gateway,
                                choice=pay.PayChoice([self.invoice_id], key, card=card,
                                                     save_card=save),
                                partial_allowed=False, now=self.now)
            session.commit()
        return charges.charge_now(_scope(self.engine), self.gateway, payment_id=payment.id,
                                  now=self.now)

    def saved_cards(self) -> list[PaymentMethod]:
        with Session(self.engine) as session:
            return methods.active(session, customer_id=self.customer_id)

    def card_rows(self) -> list[PaymentMethod]:
        with Session(self.engine) as session:
            return list(session.exec(select(PaymentMethod).where(
                PaymentMethod.customer_id == self.customer_id)))


def test_three_declined_attempts_with_a_new_card_save_no_card(engine, now):
    shop = _Shop(engine, now)
    for attempt in range(3):
        outcome = shop.pay_with_new_card(DECLINED, f"declined-attempt-{attempt:04d}")
        assert not outcome.succeeded
    assert shop.saved_cards() == []  # 0 saved cards after 3 declines (was 3)
    assert all(row.status != methods.ACTIVE for row in shop.card_rows())


def test_one_successful_payment_with_a_new_card_saves_exactly_one_default_card(engine, now):
    shop = _Shop(engine, now)
    shop.pay_with_new_card(DECLINED, "declined-attempt-0001")
    assert shop.pay_with_new_card(GOOD, "good-attempt-00001").succeeded
    [card] = shop.saved_cards()
    assert (card.last4, card.is_default) == ("4242", True)
    with Session(engine) as session:
        assert session.get(Invoice, shop.invoice_id).status == "paid"


def test_a_card_not_to_be_saved_stays_single_use_after_a_success(engine, now):
    shop = _Shop(engine, now)
    assert shop.pay_with_new_card(GOOD, "good-attempt-00002", save=False).succeeded
    assert shop.saved_cards() == []
