"""The tax on a customer's documents: `tax_for(session, customer_id)` is the one place that
says which tax applies, from the customer and the organization (`decide`), never from a
request. In order:

1. a tax-exempt customer pays none, and its documents say why ("Exempt: registered charity");
2. a business customer (with a VAT number) in another EU country than an organization in the
   EU pays 0 %: the reverse charge, with its legal note;
3. the rate table's rate for the customer's country and region, else for its country;
4. the organization's default rate (none: no tax).

Prices are exclusive of tax unless the organization says they include it: each line's tax is
then taken out of its price (half-up), so the totals are the sum of the prices.
VAT numbers are checked for their format and check digits only (python-stdnum, offline), not
against the EU's VIES service.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.orm.util import identity_key
from sqlmodel import Session, select

from webapp.models import Customer, TaxRate
from webapp.services.core import organization
from webapp.services.core.i18n import N_
from webapp.services.core.money import half_up_div, percent_of
from webapp.services.core.places import EU_COUNTRIES, clean_vat_number

# Stored on the invoice in English (a msgid: its documents translate it where shown).
REVERSE_CHARGE_NOTE = N_("Reverse charge: VAT to be accounted for by the recipient")
_RATES = "tax_rates"  # session.info key: the rate table, read once per session
CUSTOMER_FACTS = "tax_customer_facts"  # session.info key: the signed-in customer's, as read


@dataclass(frozen=True)
class CustomerFacts:
    """What the tax needs of a customer, as a statement of the session read it (the login's,
    so a customer's pages cost no statement of their own for it)."""

    id: int
    country: str
    region: str
    tax_exempt: bool
    tax_exempt_reason: str
    tax_id: str


def remember_customer(session: Session, facts: CustomerFacts | None) -> None:
    session.info[CUSTOMER_FACTS] = facts


def _customer(session: Session, customer_id: int) -> Any:
    """The customer: a row the session loaded comes first (it is the fresher), then the facts
    it remembered, else the row is loaded."""
    loaded = session.identity_map.get(identity_key(Customer, customer_id))
    if loaded is not None:
        return loaded
    facts = session.info.get(CUSTOMER_FACTS)
    if facts is not None and facts.id == customer_id:
        return facts
    return session.get(Customer, customer_id)


@dataclass(frozen=True)
class Tax:
    """The tax on a customer's lines: its rate in basis points (None: no tax at all), the
    label the documents show per line ("VAT"), whether prices include it, and the note the
    documents carry (an exemption's reason, the reverse charge)."""

    rate_bp: int | None
    label: str = ""
    inclusive: bool = False
    note: str = ""

    def of(self, price: int) -> int:
        """The tax on a line of `price` (half-up): on top of it, or inside it when inclusive
        (price × r / (1 + r))."""
        if not self.rate_bp:
            return 0
        if self.inclusive:
            return half_up_div(price * self.rate_bp, 10_000 + self.rate_bp)
        return percent_of(price, self.rate_bp)


NO_TAX = Tax(None)


def _vat_valid(number: str, country: str) -> bool:
    try:
        return bool(clean_vat_number(number, country))
    except ValueError:
        return False


class Rate(Protocol):
    country: str
    region: str
    rate_bp: int
    label: str


def decide(customer: Any, org: Any, rates: Iterable[Rate]) -> Tax:
    """The tax on `customer`'s lines (see the module's docstring for the order)."""
    if org is None:
        return NO_TAX
    inclusive = bool(getattr(org, "tax_inclusive", False))
    if customer is None:
        return Tax(org.tax_rate_bp, org.tax_name or "", inclusive) if org.tax_rate_bp is not None \
            else NO_TAX
    if customer.tax_exempt:
        reason = customer.tax_exempt_reason.strip()
        return Tax(0, "Exempt", inclusive, f"Exempt: {reason}" if reason else "Exempt")
    home, there = org.country, customer.country
    if (home in EU_COUNTRIES and there in EU_COUNTRIES and home != there
            and customer.tax_id and _vat_valid(customer.tax_id, there)):
        return Tax(0, "VAT", inclusive, REVERSE_CHARGE_NOTE)
    by_place = {(r.country, r.region): r for r in rates}
    region = (customer.region or "").strip().casefold()
    match = next((r for (c, g), r in by_place.items()
                  if c == there and g and g.casefold() == region), None) if region else None
    if match is None and there:
        match = by_place.get((there, ""))  # the country's own rate
    if match is not None:
        return Tax(match.rate_bp, match.label, inclusive)
    if org.tax_rate_bp is None:
        return NO_TAX
    return Tax(org.tax_rate_bp, org.tax_name or "", inclusive)


def _rates(session: Session) -> list[Rate]:
    """The rate table, read once per session (the admin's page clears it when it changes)."""
    if _RATES not in session.info:
        session.info[_RATES] = list(session.exec(select(
            TaxRate.country, TaxRate.region, TaxRate.rate_bp, TaxRate.label)))
    return session.info[_RATES]


def forget_rates(session: Session) -> None:
    session.info.pop(_RATES, None)


def tax_for(session: Session, customer_id: int | None) -> Tax:
    """The tax on `customer_id`'s lines as things stand: the one place that decides it."""
    org = organization.get(session)
    if org is None:
        return NO_TAX
    customer = _customer(session, customer_id) if customer_id is not None else None
    if customer is None or customer.tax_exempt or not customer.country:
        return decide(customer, org, ())  # no rate by place can apply: no statement for them
    return decide(customer, org, _rates(session))


def taxes_for(session: Session, customer_ids: Iterable[int]) -> dict[int, Tax]:
    """`tax_for` for many customers at once (the bulk renewals): two statements."""
    ids = sorted(set(customer_ids))
    org = organization.get(session)
    if not ids:
        return {}
    customers = {c.id: c for c in session.exec(select(Customer).where(Customer.id.in_(ids)))}
    rates = _rates(session)
    return {i: decide(customers.get(i), org, rates) for i in ids}


def rate_for(session: Session, customer_id: int | None) -> int | None:
    """The rate on `customer_id`'s lines in basis points (2000 is 20%); None: no tax."""
    return tax_for(session, customer_id).rate_bp


class TaxedLine(Protocol):
    amount: int  # before tax: the basis the line's tax was computed on
    tax_amount: int


@dataclass(frozen=True)
class TaxBand:
    """One line of a document's tax summary: a rate, the amount taxed at it, the tax."""

    rate_bp: int
    basis: int
    tax: int
    label: str = ""


def summary(lines: Iterable[TaxedLine], rate_bp: int | None) -> tuple[TaxBand, ...]:
    """A document's tax summary by rate (and label): its lines' basis and tax, each line at
    the rate it was taxed at (its own `tax_rate_bp` where it has one, else the document's);
    none when it carries no tax."""
    bands: dict[tuple[int, str], list[int]] = {}
    for line in lines:
        rate = getattr(line, "tax_rate_bp", rate_bp)
        if rate is None:
            continue
        key = (rate, getattr(line, "tax_label", "") or "")
        band = bands.setdefault(key, [0, 0])
        band[0] += getattr(line, "tax_basis", None) if getattr(line, "tax_basis", None) is not None \
            else line.amount
        band[1] += line.tax_amount
    return tuple(TaxBand(rate, basis, tax_, label) for (rate, label), (basis, tax_) in bands.items())
