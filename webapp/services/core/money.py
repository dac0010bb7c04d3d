"""Money: integer minor units, ISO 4217 exponents, Babel formatting.

Babel's currency digits differ from ISO 4217 for a few currencies, so the exponent comes from
our own table; Babel only lays out the symbol and separators for the locale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from babel import Locale
from babel.numbers import NumberPattern, format_currency, format_percent, parse_pattern

from webapp.services.core.i18n import _, ngettext

# ISO 4217 minor-unit exponents that are not 2.
_EXPONENTS: dict[str, int] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    "CLF": 4, "UYW": 4,
}

# Currencies this installation accepts in forms (ISO codes with a known exponent).
SUPPORTED_CURRENCIES: tuple[str, ...] = (
    "USD", "EUR", "GBP", "INR", "JPY", "KWD", "AUD", "CAD", "CHF", "SEK", "NOK", "DKK",
    "NZD", "SGD", "AED", "BHD", "OMR", "JOD", "ZAR", "BRL", "MXN", "PLN", "CZK",
)


_FRACTION = re.compile(r"0\.0+")


@dataclass(frozen=True)
class Amount:
    """An amount in a message (`dates.dated`), formatted where the message is shown."""

    minor: int
    currency: str


def exponent(currency: str) -> int:
    """Number of minor-unit digits of an ISO 4217 currency."""
    return _EXPONENTS.get(currency.upper(), 2)


def to_decimal(amount_minor: int, currency: str) -> Decimal:
    """Minor units as an exact Decimal in major units (for display only)."""
    if not isinstance(amount_minor, int):
        raise TypeError("money amounts are integers in minor units")
    return Decimal(amount_minor).scaleb(-exponent(currency))


@lru_cache(maxsize=256)
def _currency_pattern(currency: str, locale: str) -> tuple[Locale, NumberPattern]:
    """The locale's own pattern (symbol before or after, grouping) with ISO's digits, parsed
    once per process: parsing it on every call cost more than the formatting itself."""
    digits = exponent(currency)
    fraction = "." + "0" * digits if digits else ""
    parsed = Locale.parse(locale)
    pattern = _FRACTION.sub("0" + fraction, parsed.currency_formats["standard"].pattern)
    return parsed, parse_pattern(pattern)


# A page lists the same few amounts again and again (a plan's price every month), and the
# result depends only on the arguments; typed, so 12.0 still fails as a float would.
@lru_cache(maxsize=8192, typed=True)
def format_money(amount_minor: int, currency: str, locale: str = "en_US") -> str:
    """Format minor units for people, in the organization's locale."""
    parsed, pattern = _currency_pattern(currency, locale)
    return format_currency(to_decimal(amount_minor, currency), currency.upper(), format=pattern,
                           locale=parsed, currency_digits=False)


# Amount columns are PostgreSQL integers: no amount, line or total in minor units goes past
# this. Typed amounts have a lower, configurable bound too (MONEY_INPUT_MAX, webapp/forms.py).
MAX_AMOUNT = 2**31 - 1


def parse_money(text: str, currency: str) -> int:
    """Parse a typed amount ("12.50") into minor units; refuses excess precision and amounts
    beyond what the portal stores (MAX_AMOUNT)."""
    cleaned = text.strip().replace(",", "")
    try:
        value = Decimal(cleaned)
    except ArithmeticError as exc:  # decimal.InvalidOperation
        raise ValueError(_("Enter an amount such as 12.50.")) from exc
    digits = exponent(currency)
    if value.is_finite() and value.copy_abs() > to_decimal(MAX_AMOUNT, currency):
        raise ValueError(_("Enter an amount of at most %(most)s %(currency)s.",
                           most=f"{to_decimal(MAX_AMOUNT, currency):,}", currency=currency))
    scaled = value.scaleb(digits)
    if scaled != scaled.to_integral_value() or not value.is_finite():
        raise ValueError(ngettext("%(currency)s amounts have at most %(num)d decimal place.",
                                  "%(currency)s amounts have at most %(num)d decimal places.",
                                  digits, currency=currency))
    return int(scaled)


def half_up_div(numerator: int, denominator: int) -> int:
    """Integer division rounding half away from zero: R(n, d) = (2n + d) // (2d) for n >= 0."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    if numerator >= 0:
        return (2 * numerator + denominator) // (2 * denominator)
    return -((2 * -numerator + denominator) // (2 * denominator))


def percent_of(amount: int, basis_points: int) -> int:
    """amount × basis_points / 10 000, half-up (1500 bp is 15 %)."""
    return half_up_div(amount * basis_points, 10_000)


@lru_cache(maxsize=1024)
def format_rate(basis_points: int | None, locale: str = "en_US") -> str:
    """A tax rate in basis points for people, in the locale ("20%", "7.5%", "7,5%" in de_DE);
    None (no tax) is empty. Kept per rate and locale: Babel parses the pattern on each call,
    0.12 ms, and an invoice's page writes its rate five times (5 % of its CPU on SQLite)."""
    if basis_points is None:
        return ""
    return format_percent(Decimal(basis_points).scaleb(-4), format="#,##0.##%", locale=locale)
