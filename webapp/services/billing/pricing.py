"""Prices in integer minor units: plan + addons − coupons, tax per line, half-up once per line.

Pure functions over plain values, so previews and invoices come from the same code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from webapp.services.billing.tax import NO_TAX, Tax
from webapp.services.core import wording
from webapp.services.core.money import MAX_AMOUNT, half_up_div, percent_of


@dataclass(frozen=True)
class Charge:
    """Something to bill: a plan, an addon, a setup fee, a one-off item."""

    kind: str  # plan | addon | setup_fee | one_off | proration_charge | proration_credit
    description: str
    quantity: int
    unit_amount: int
    amount: int | None = None  # defaults to quantity × unit_amount
    discountable: bool = True

    @property
    def total(self) -> int:
        return self.quantity * self.unit_amount if self.amount is None else self.amount


@dataclass(frozen=True)
class Discount:
    """A coupon as it applies to one invoice."""

    code: str
    name: str
    percent_bp: int | None = None  # percentage coupons
    amount: int | None = None  # fixed coupons, in the invoice's currency


@dataclass(frozen=True)
class Line:
    kind: str
    description: str
    quantity: int
    unit_amount: int
    amount: int  # before tax: the basis of the line's tax (the price less it when inclusive)
    tax_amount: int


@dataclass(frozen=True)
class Priced:
    lines: tuple[Line, ...]
    subtotal: int
    tax_total: int
    total: int
    tax_rate_bp: int | None = None  # the rate every line's tax was computed at (None: no tax)
    tax_label: str = ""  # "VAT", "Sales tax", "Exempt"
    tax_note: str = ""  # what the document says about its tax (an exemption, reverse charge)

    @property
    def fits(self) -> bool:
        """Every amount fits the amount columns (typed prices × quantities may not)."""
        amounts = (self.subtotal, self.tax_total, self.total,
                   *(x for line in self.lines for x in (line.amount, line.tax_amount)))
        return all(abs(amount) <= MAX_AMOUNT for amount in amounts)


def _the_tax(tax: Tax | None, tax_rate_bp: int | None) -> Tax:
    """`tax`, or a plain exclusive rate (the callers that know only a rate)."""
    if tax is not None:
        return tax
    return Tax(tax_rate_bp) if tax_rate_bp is not None else NO_TAX


def _priced(lines: list[Line], tax: Tax) -> Priced:
    """The document's figures from its lines: a line's price is its amount plus its tax, so
    with inclusive prices the total is the sum of the prices."""
    subtotal = sum(line.amount for line in lines)
    tax_total = sum(line.tax_amount for line in lines)
    return Priced(tuple(lines), subtotal, tax_total, subtotal + tax_total, tax.rate_bp,
                  tax.label, tax.note)


def _net(line: Line, tax: Tax) -> Line:
    """An inclusive line's amount is its price less the tax in it."""
    return replace(line, amount=line.amount - line.tax_amount) if tax.inclusive else line


def price(charges: list[Charge], discounts: list[Discount] = (), *,
          tax_rate_bp: int | None = None, tax: Tax | None = None) -> Priced:
    """Lines with tax per line; each coupon is its own negative line on the discountable base.

    Percentage coupons apply to the base; fixed coupons are capped so the discountable part
    never goes below zero, and a discount's tax is capped likewise at the tax still left on
    that part: rounding per line could otherwise take back a cent more tax than was added
    (two 2-cent lines at 20 % carry no tax, a 4-cent discount would carry −1).
    `tax` (else a plain `tax_rate_bp`) says the rate and whether prices include it: then
    every amount above is a price, and each line's tax is taken out of it.
    """
    tax = _the_tax(tax, tax_rate_bp)
    lines = [Line(c.kind, c.description, c.quantity, c.unit_amount, c.total,
                  tax.of(c.total)) for c in charges]
    remaining = sum(c.total for c in charges if c.discountable)
    tax_left = sum(line.tax_amount for line, c in zip(lines, charges, strict=True)
                   if c.discountable)
    base = remaining
    for discount in discounts:
        if remaining <= 0:
            break
        if discount.percent_bp is not None:
            off = min(percent_of(base, discount.percent_bp), remaining)
        else:
            off = min(discount.amount or 0, remaining)
        if off <= 0:
            continue
        remaining -= off
        tax_off = max(0, min(tax.of(off), tax_left))
        tax_left -= tax_off
        lines.append(Line("discount", wording.write(wording.COUPON, code=discount.code,
                                                      name=discount.name), 1, -off, -off, -tax_off))
    return _priced([_net(line, tax) for line in lines], tax)


def taxed(charges: list[Charge], tax_rate_bp: int | None = None, *,
          tax: Tax | None = None) -> Priced:
    """Lines already priced (prorated charges, credits), with tax per line, half-up.

    A negative line (a discount) takes off at most what the lines before it left, and back
    at most the tax still left on them, as in `price`: rounding each prorated line on its own
    could otherwise make a fully discounted invoice come to −1.
    """
    tax_ = _the_tax(tax, tax_rate_bp)
    lines, left, tax_left = [], 0, 0
    for charge in charges:
        amount = charge.total if charge.total >= 0 else -min(-charge.total, left)
        if charge.total < 0 and not amount:
            continue  # nothing left to discount
        tax = tax_.of(abs(amount))
        if amount < 0:
            tax = -max(0, min(tax, tax_left))
        left, tax_left = left + amount, tax_left + tax
        lines.append(Line(charge.kind, charge.description, charge.quantity, charge.unit_amount,
                          amount, tax))
    return _priced([_net(line, tax_) for line in lines], tax_)


def share(amount: int, days_left: int, term_days: int) -> int:
    """R(A·r, D): a term's price `amount` for the `days_left` of its `term_days` (half-up;
    negative for a discount)."""
    return half_up_div(amount * days_left, term_days)


@dataclass(frozen=True)
class Proration:
    """An immediate mid-term change: what to charge for the rest of the term, what to credit."""

    charges: tuple[Charge, ...]  # the new lines for the remaining days (pre-tax)
    credits: tuple[Charge, ...]  # the old lines' unused days, as positive amounts (pre-tax)

    @property
    def credit_total(self) -> int:
        return sum(c.total for c in self.credits)


# What wording.PRORATED and wording.UNUSED add to an item's description.
_DAYS = re.compile(r" \(\d+ of \d+ days\)$")
_UNUSED = wording.write(wording.UNUSED, item="")


def base_description(description: str) -> str:
    """A line's description without the days it was prorated for ("Pro (20 of 30 days)" and
    "Unused time: Pro (10 of 30 days)" are both "Pro")."""
    return _DAYS.sub("", description.removeprefix(_UNUSED))


def prorate(old: list[Charge], new: list[Charge], *, term_days: int,
            days_left: int) -> Proration:
    """Whole days, per line, half-up: credit = R(A_old·r, D), charge = R(A_new·r, D).

    R(n, d) = (2n + d) // (2d); A is a line's price for the whole term (quantity × unit
    price, negative for a discount), so a line bought on a proration invoice and credited
    later is credited at the price it was bought at. A prorated line keeps its quantity and
    unit price; only its amount is the share. The plan-change and cancel paths call this.
    """
    if term_days <= 0 or not 0 <= days_left <= term_days:
        raise ValueError("days left must lie within the term")

    def part(charge: Charge, kind: str) -> Charge:
        item = base_description(charge.description)
        if kind == "proration_credit":
            item = wording.write(wording.UNUSED, item=item)
        return Charge(kind if kind == "proration_credit" or charge.total >= 0 else "discount",
                      wording.write(wording.PRORATED, item=item, days=days_left,
                                    term=term_days), charge.quantity,
                      charge.unit_amount, share(charge.total, days_left, term_days),
                      discountable=charge.discountable)

    return Proration(
        tuple(part(c, "proration_charge") for c in new if c.total),
        tuple(part(c, "proration_credit") for c in old if c.total))
