import pytest

from webapp.services.billing.gateway import CardDetails, GatewayNetworkError, TestGateway
from webapp.services.core.errors import InvalidInput


def card(number="4242424242424242", month=12, year=2029, cvc="123"):
    return CardDetails(number, month, year, cvc)


def test_tokenizing_a_test_card_gives_brand_last4_and_expiry(engine, now):
    token = TestGateway(engine).tokenize(card("5555 5555 5555 4444"), now=now)
    assert (token.brand, token.last4, token.exp_month, token.exp_year) == ("Mastercard", "4444", 12, 2029)
    assert "5555555555554444" not in token.token


@pytest.mark.parametrize(("details", "field"), [
    (card("4242424242424241"), "card_number"),
    (card("12ab"), "card_number"),
    (card(month=13), "exp_month"),
    (card(year=2025), "exp_year"),
    (card(cvc="12"), "cvc"),
])
def test_bad_card_details_are_refused_by_field(engine, now, details, field):
    with pytest.raises(InvalidInput) as raised:
        TestGateway(engine).tokenize(details, now=now)
    assert raised.value.field == field


def test_the_same_idempotency_key_charges_once(engine, now):
    gateway = TestGateway(engine)
    token = gateway.tokenize(card(), now=now).token
    first = gateway.charge(token=token, amount=1000, currency="USD", idempotency_key="k1", now=now)
    again = gateway.charge(token=token, amount=1000, currency="USD", idempotency_key="k1", now=now)
    assert first.succeeded and first == again
    assert gateway.charges_for("k1") == 1


@pytest.mark.parametrize(("number", "message"), [
    ("4000000000000002", "Your card was declined."),
    ("4000000000009995", "Your card has insufficient funds."),
    ("4000000000000069", "Your card has expired."),
])
def test_decline_cards_are_declined_with_a_reason(engine, now, number, message):
    gateway = TestGateway(engine)
    token = gateway.tokenize(card(number), now=now).token
    result = gateway.charge(token=token, amount=500, currency="USD", idempotency_key="d", now=now)
    assert not result.succeeded and result.decline_message == message


def test_the_network_error_card_charges_nothing(engine, now):
    gateway = TestGateway(engine)
    token = gateway.tokenize(card("4000000000000119"), now=now).token
    with pytest.raises(GatewayNetworkError):
        gateway.charge(token=token, amount=500, currency="USD", idempotency_key="n", now=now)
    assert gateway.charges_for("n") == 0


def test_card_details_never_show_the_number_in_their_repr():
    assert "4242424242424242" not in repr(card())
