"""The tax on a customer's invoices: `rate_for(session, customer_id)` is the one place that
says which rate applies. Every customer pays the organization's rate for now; a later issue
makes it depend on the customer, here alone, so every caller already names the customer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from sqlmodel import Session

from webapp.services.core import organization


def rate_for(session: Session, customer_id: int | None) -> int | None:
    """The tax rate on `customer_id`'s invoices in basis points (2000 is 20%); None: no tax.
    Costs no statement when the session has read the organization already."""
    org = organization.get(session)
    return org.tax_rate_bp if org is not None else None


class TaxedLine(Protocol):
    amount: int  # before tax: the basis the line's tax was computed on
    tax_amount: int


@dataclass(frozen=True)
class TaxBand:
    """One line of a document's tax summary: a rate, the amount taxed at it, the tax."""

    rate_bp: int
    basis: int
    tax: int


def summary(lines: Iterable[TaxedLine], rate_bp: int | None) -> tuple[TaxBand, ...]:
    """A document's tax summary by rate: its lines' basis and tax (every line of a document
    is taxed at the one rate it was priced with); none when it carries no tax."""
    if rate_bp is None:
        return ()
    lines = list(lines)
    return (TaxBand(rate_bp, sum(x.amount for x in lines), sum(x.tax_amount for x in lines)),)
