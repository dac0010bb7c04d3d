import itertools

import pytest

from webapp.services.core import state_machine
from webapp.services.core.errors import IllegalTransition

STATES = ("future", "trial", "live", "non_renewing", "paused", "dunning", "unpaid",
          "cancelled", "expired")
PAIRS = [(s, e) for s, e in itertools.product(STATES, state_machine.TRANSITIONS)
         if s not in state_machine.TRANSITIONS[e]]


@pytest.mark.parametrize(("state", "event"), PAIRS)
def test_every_pair_not_in_the_table_raises(state, event):
    with pytest.raises(IllegalTransition):
        state_machine.check(state, event)


def test_a_target_not_allowed_for_the_event_raises():
    with pytest.raises(IllegalTransition):
        state_machine.check("live", "pause", "cancelled")


def test_the_message_is_readable():
    with pytest.raises(IllegalTransition, match="A live subscription cannot be reactivated."):
        state_machine.check("live", "reactivate")


def test_cancel_now_is_allowed_from_every_state_but_the_final_ones():
    assert {s for s in STATES if state_machine.allowed(s, "cancel_now")} == set(STATES) - {
        "cancelled", "expired"}


def test_a_racing_second_transition_loses_with_a_message(engine, session, now):
    from sqlmodel import Session

    from tests.factories import make_customer, make_subscription
    from webapp.models import Subscription

    customer = make_customer(session, now=now)
    sub = make_subscription(session, customer=customer, now=now)
    session.commit()
    with Session(engine, expire_on_commit=False) as other:
        stale = other.get(Subscription, sub.id)  # what a second request loaded earlier
        other.commit()
        state_machine.transition(session, sub, "pause", "paused", now=now)
        session.commit()
        with pytest.raises(IllegalTransition, match="changed a moment ago"):
            state_machine.transition(other, stale, "pause", "paused", now=now)
        assert other.get(Subscription, sub.id).status == "paused"
