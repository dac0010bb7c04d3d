"""The tax on a customer's invoices: `rate_for(session, customer_id)` is the one place that
says which rate applies. Every customer pays the organization's rate for now; a later issue
makes it depend on the customer, here alone, so every caller already names the customer.
"""

from __future__ import annotations

from sqlmodel import Session

from webapp.services.core import organization


def rate_for(session: Session, customer_id: int | None) -> int | None:
    """The tax rate on `customer_id`'s invoices in basis points (2000 is 20%); None: no tax.
    Costs no statement when the session has read the organization already."""
    org = organization.get(session)
    return org.tax_rate_bp if org is not None else None
