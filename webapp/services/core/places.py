"""Places: ISO 3166-1 country codes and EU VAT numbers, checked offline (the tax's inputs,
services/billing/tax.py). A VAT number's format and check digits are checked with
python-stdnum; it is not looked up in the EU's VIES service.
"""

from __future__ import annotations

from functools import lru_cache

from babel import Locale
from stdnum.eu import vat as eu_vat

from webapp.services.core.i18n import _

EU_COUNTRIES = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
    "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"})
_VAT_PREFIX = {"GR": "EL"}  # Greece's VAT numbers start with EL
_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "XK", "ZZ"}  # CLDR's, not ISO 3166-1's


@lru_cache(maxsize=1)
def countries() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes (as CLDR names them, less its groupings)."""
    return frozenset(code for code in Locale("en").territories
                     if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES)


def clean_country(value: str) -> str:
    """A country as typed ("de ") as its code ("DE"); ValueError when it is none."""
    code = (value or "").strip().upper()
    if code and code not in countries():
        raise ValueError(_("Enter a two-letter country code such as DE or US (ISO 3166-1)."))
    return code


def clean_vat_number(value: str, country: str) -> str:
    """An EU VAT number as typed, compact and with its country prefix ("DE136695976");
    ValueError when its format or check digits are wrong for `country` (its own prefix when
    `country` is not in the EU). Only the format: the EU's VIES service is not asked."""
    number = "".join(ch for ch in (value or "").upper() if ch.isalnum())
    if not number:
        return ""
    prefix = _VAT_PREFIX.get(country, country)
    if country in EU_COUNTRIES and not number[:2].isalpha():
        number = prefix + number  # typed without its country's prefix
    if not eu_vat.is_valid(number) or (country in EU_COUNTRIES and not number.startswith(prefix)):
        raise ValueError(_("This is not a valid VAT number for %(country)s.", country=country)
                         if country else _("This is not a valid VAT number for an EU country."))
    return eu_vat.compact(number)
