"""The back office (issue 12): what the organization's admins do to run the business.

Customers and their portal access, the catalog, subscriptions, invoices and payments, CSV
import, and the audit log. Every function here calls the same services the customer side calls
(ledger, billing, the state machine, invitations), so a rule lives once; every change is
recorded with `audit.record` in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from webapp.models import Customer
from webapp.services.core.errors import NotFound
from webapp.services.core.i18n import _


@dataclass(frozen=True)
class Actor:
    """The admin making a change, as the audit trail names them."""

    user_id: int | None
    label: str


@dataclass(frozen=True)
class LinkSettings:
    """What an invitation link needs: the signing key (the sender adds the portal's address)."""

    secret: str


def get_customer(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(_("No such customer."))
    return customer
