"""Dunning fix links: a payment-failed email lets the customer pay that one invoice and update
that one subscription's card without a password.

The link carries 32 random bytes; only their SHA-256 is stored, so the table cannot be turned
back into working links. A link expires, works until its invoice is paid, and a tampered or
unknown token finds nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from webapp.models import FixLink, Invoice, Payment
from webapp.services.billing.gateway import NEEDS_AUTHENTICATION
from webapp.services.core import outbox
from webapp.services.core.errors import DomainError, NotFound
from webapp.services.core.i18n import _

VALID_FOR = timedelta(days=14)


class LinkRefused(DomainError):
    """The link cannot be used; `reason` says why in words for the page."""

    status = 410

    @property
    def reason(self) -> str:
        """The message as text, in the active language (a page, or JSON for Stripe.js)."""
        return str(self.message)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class CreatedLink:
    link: FixLink
    token: str

    @property
    def page(self) -> dict:
        """The fix page of this token, for a mail's link (outbox.page)."""
        return outbox.page("pay.fix", token=self.token)


def create(session: Session, *, customer_id: int, invoice_id: int, subscription_id: int,
           now: datetime) -> CreatedLink:
    token = secrets.token_urlsafe(32)
    link = FixLink(token_hash=_hash(token), customer_id=customer_id, invoice_id=invoice_id,
                   subscription_id=subscription_id, expires_at=now + VALID_FOR, created_at=now)
    session.add(link)
    session.flush()
    return CreatedLink(link, token)


def resolve(session: Session, *, token: str, now: datetime) -> FixLink:
    """The usable link for this token, or LinkRefused with the reason."""
    link = session.exec(select(FixLink).where(FixLink.token_hash == _hash(token))).first() \
        if 20 <= len(token) <= 100 else None
    if link is None:
        raise LinkRefused(_("This link is not valid. Check that you copied all of it, or log "
                            "in to the portal to pay."))
    if link.used_at is not None:
        raise LinkRefused(_("This link has already been used. Log in to the portal to see "
                            "your invoices and payments."))
    if link.expires_at < now:
        raise LinkRefused(_("This link has expired. Log in to the portal to pay, or use the "
                            "link in a newer email."))
    invoice = session.get(Invoice, link.invoice_id)
    if invoice is None or invoice.status != "open":
        raise LinkRefused(_("This invoice is already paid; there is nothing left to do here."))
    return link


def payment_for(session: Session, *, token: str, payment_id: int) -> Payment:
    """A payment made through this link (used or not); NotFound for anything else."""
    link = session.exec(select(FixLink).where(FixLink.token_hash == _hash(token))).first()
    payment = session.get(Payment, payment_id)
    if link is None or payment is None or payment.intent.get("fix_link_id") != link.id:
        raise NotFound(_("No such payment."))
    return payment


def mark_used(session: Session, *, link_id: int, now: datetime) -> None:
    link = session.get(FixLink, link_id)
    if link is not None and link.used_at is None:
        link.used_at = now



def settled_through(session: Session, *, link_id: int, payment_id: int, now: datetime) -> None:
    """A payment completed on the link's page (a renewal confirmed with the bank) belongs to
    the link from now on (its thank-you page, `payment_for`), and the link is used."""
    payment = session.get(Payment, payment_id)
    payment.intent = {**payment.intent, "fix_link_id": link_id}
    mark_used(session, link_id=link_id, now=now)


def needs_authentication(session: Session, *, link: FixLink) -> Payment | None:
    """The link's invoice's latest failed engine charge that the customer's bank wanted to
    confirm (3-D Secure), which the customer can complete on the link's page; None otherwise."""
    failed = session.exec(select(Payment).where(
        Payment.customer_id == link.customer_id, Payment.status == "failed",
        Payment.gateway_reference.is_not(None),
        Payment.failure_reason == NEEDS_AUTHENTICATION).order_by(Payment.id.desc())).all()
    return next((p for p in failed if link.invoice_id in p.intent.get("invoice_ids", [])), None)
