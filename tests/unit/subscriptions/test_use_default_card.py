"""Use the default card: one step gives a subscription without a card the customer's default."""

from __future__ import annotations

import pytest

from tests.unit.subscriptions.test_subscription_actions import Shop
from webapp.services.core.errors import NotFound
from webapp.services.subscriptions import actions


@pytest.fixture
def shop(session, now) -> Shop:
    return Shop(session, now)


def test_a_subscription_without_a_card_is_offered_the_default_one_and_takes_it(shop):
    card = shop.card()
    card.is_default = True
    sub = shop.live()
    result = actions.use_default_card(shop.session, **shop.ids(sub))
    shop.session.flush()  # the caller commits
    assert shop.reload(sub).payment_method_id == card.id and result.changed
    assert result.view.method_label == "Visa •••• 4242" and result.view.default_label is None
    again = actions.use_default_card(shop.session, **shop.ids(sub))
    assert not again.changed and "already uses" in again.message


def test_without_a_default_card_nothing_changes(shop):
    sub = shop.live()
    with pytest.raises(actions.NoPaymentMethod):
        actions.use_default_card(shop.session, **shop.ids(sub))
    assert shop.reload(sub).payment_method_id is None


def test_another_customers_subscription_is_not_found(shop):
    sub = shop.live()
    with pytest.raises(NotFound):
        actions.use_default_card(shop.session, customer_id=shop.customer.id + 99,
                                 subscription_id=sub.id, now=shop.now)
