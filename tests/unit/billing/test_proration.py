from hypothesis import given
from hypothesis import strategies as st

from webapp.services.billing.pricing import Charge, prorate


def test_the_first_check_figure():
    p = prorate([Charge("plan", "Basic", 1, 30000)], [Charge("plan", "Pro", 1, 50000)],
                term_days=30, days_left=20)
    assert p.credit_total == 20000 and p.charges[0].total == 33333
    assert p.charges[0].total - p.credit_total == 13333


def test_the_second_check_figure():
    p = prorate([Charge("plan", "Basic", 1, 5000)], [Charge("plan", "Pro", 1, 10000)],
                term_days=31, days_left=16)
    assert p.charges[0].total == 5161 and p.credit_total == 2581
    assert p.charges[0].total - p.credit_total == 2580


@given(st.integers(0, 10_000_000), st.integers(1, 366), st.data())
def test_a_credit_never_exceeds_what_was_charged_for_the_unused_days(amount, days, data):
    left = data.draw(st.integers(0, days))
    p = prorate([Charge("plan", "Old", 1, amount)], [], term_days=days, days_left=left)
    # at most half a minor unit above the exact share, and never above the whole line
    assert 2 * p.credit_total * days <= 2 * amount * left + days
    assert p.credit_total <= amount
