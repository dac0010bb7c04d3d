from hypothesis import given
from hypothesis import strategies as st

from webapp.services.billing.pricing import Charge, Discount, price


def test_plan_addons_coupon_and_tax_make_the_invoice():
    priced = price([Charge("plan", "Pro", 1, 4900), Charge("addon", "Seat", 3, 800),
                    Charge("setup_fee", "Setup", 1, 2500, discountable=False)],
                   [Discount("WELCOME20", "Welcome", percent_bp=2000)], tax_rate_bp=2000)
    assert [line.amount for line in priced.lines] == [4900, 2400, 2500, -1460]
    assert priced.subtotal == 8340 and priced.tax_total == 1668 and priced.total == 10008


def test_a_fixed_coupon_never_takes_the_total_below_zero():
    priced = price([Charge("plan", "Basic", 1, 500)], [Discount("SAVE10", "Ten off", amount=1000)])
    assert priced.total == 0


@given(st.lists(st.tuples(st.integers(1, 5), st.integers(0, 100_000)), min_size=1, max_size=5),
       st.one_of(st.none(), st.integers(0, 5000)), st.one_of(st.none(), st.integers(0, 10_000)))
def test_the_total_is_always_the_sum_of_the_lines(items, percent, tax):
    charges = [Charge("addon", "Item", q, a) for q, a in items]
    discounts = [Discount("C", "Coupon", percent_bp=percent)] if percent is not None else []
    priced = price(charges, discounts, tax_rate_bp=tax)
    assert priced.total == sum(line.amount + line.tax_amount for line in priced.lines)
    assert priced.subtotal >= 0


def test_a_discount_never_takes_back_more_tax_than_the_lines_carry():
    """Two 2-cent lines at 20 % carry no tax (0.4 rounds down); a 4-cent discount's own tax
    would round to −1, leaving an invoice of −1: it is capped at the tax left, 0."""
    priced = price([Charge("proration_charge", "Plan", 1, 2), Charge("proration_charge", "Seat", 1, 2)],
                   [Discount("SAVE10", "Ten off", amount=1000)], tax_rate_bp=2000)
    assert priced.subtotal == 0 and priced.tax_total == 0 and priced.total == 0


@given(st.lists(st.tuples(st.integers(1, 5), st.integers(0, 5_000), st.booleans()), min_size=1,
                max_size=5),
       st.lists(st.one_of(st.builds(lambda p: Discount("P", "Pct", percent_bp=p), st.integers(0, 10_000)),
                          st.builds(lambda a: Discount("F", "Fixed", amount=a), st.integers(0, 20_000))),
                max_size=3),
       st.one_of(st.none(), st.integers(0, 10_000)))
def test_no_invoice_or_tax_total_is_ever_negative(items, discounts, tax):
    charges = [Charge("addon", "Item", q, a, discountable=d) for q, a, d in items]
    priced = price(charges, discounts, tax_rate_bp=tax)
    assert priced.total >= 0 and priced.tax_total >= 0
    assert priced.total == sum(line.amount + line.tax_amount for line in priced.lines)
