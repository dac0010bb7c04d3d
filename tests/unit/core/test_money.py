from decimal import Decimal

import pytest

from webapp.services.core.money import exponent, format_money, half_up_div, parse_money, percent_of


@pytest.mark.parametrize(("currency", "digits"), [("JPY", 0), ("KWD", 3), ("EUR", 2), ("usd", 2)])
def test_exponents_follow_iso_4217(currency, digits):
    assert exponent(currency) == digits


def test_yen_is_formatted_without_decimals():
    assert format_money(1234, "JPY", "en_US") == "¥1,234"


def test_kuwaiti_dinar_is_formatted_with_three_decimals():
    assert format_money(1234567, "KWD", "en_US") == "KWD1,234.567"


def test_euro_follows_the_locale_layout():
    assert format_money(123456, "EUR", "de_DE") == "1.234,56\xa0€"
    assert format_money(123456, "EUR", "en_GB") == "€1,234.56"


def test_negative_amounts_keep_their_sign():
    assert format_money(-150, "USD", "en_US") == "-$1.50"


def test_floats_are_refused():
    with pytest.raises(TypeError):
        format_money(12.5, "USD")  # type: ignore[arg-type]


def test_typed_amounts_become_minor_units():
    assert parse_money("12.50", "USD") == 1250
    assert parse_money("1,000", "JPY") == 1000
    assert parse_money("1.234", "KWD") == 1234


def test_typed_amounts_with_too_many_decimals_are_refused():
    with pytest.raises(ValueError, match="at most 2 decimal places"):
        parse_money("1.234", "USD")
    with pytest.raises(ValueError):
        parse_money("abc", "USD")


@pytest.mark.parametrize(("n", "d", "expected"), [(5, 10, 1), (4, 10, 0), (15, 10, 2), (-5, 10, -1),
                                                  (600000, 30, 20000), (1000000, 30, 33333)])
def test_half_up_division(n, d, expected):
    assert half_up_div(n, d) == expected
    assert Decimal(n) / Decimal(d) - expected <= Decimal("0.5")


def test_percent_of_rounds_half_up():
    assert percent_of(1999, 1500) == 300  # 299.85
    assert percent_of(10, 500) == 1  # 0.5 rounds up


@pytest.mark.parametrize("typed", ["21474836.48", "99999999999999999999", "-99999999999999999999",
                                   "1e999999999"])
def test_amounts_past_what_the_columns_hold_are_refused(typed):
    with pytest.raises(ValueError, match="at most 21,474,836.47 USD"):
        parse_money(typed, "USD")


def test_the_largest_amount_the_columns_hold_is_accepted():
    assert parse_money("21474836.47", "USD") == 2**31 - 1
