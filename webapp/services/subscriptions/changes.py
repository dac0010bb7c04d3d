"""Manage Subscription: the customer changes plan, addons and coupons, now (prorated, charged
first when the saved card pays) or at the end of term; billing.changes drafts and writes it.

`draft_change` builds the preview and `confirm_change` writes exactly that draft: the invoice
rows equal the preview's lines to the cent, and a confirm whose preview fingerprint no longer
matches is refused before anything is charged or written (DESIGN.md: Proration).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, select

from webapp.models import (
    Invoice,
    Payment,
    ScheduledChange,
    Subscription,
)
from webapp.services.billing import charges
from webapp.services.billing.changes import (  # the feature's face: blueprints import these here
    END_OF_TERM,
    IMMEDIATELY,
    TRIAL_END,
    ChangeDraft,
    ChangeRequest,
    Choices,
    PriceChanged,
    apply_change,
    apply_now,
    change_event,
    choices,
    draft_change,
    request_from_dict,
    request_to_dict,
    send_confirmation,
    timings_for,
)
from webapp.services.billing.context import owned_subscription
from webapp.services.core import state_machine
from webapp.services.core.dates import Moment, dated
from webapp.services.core.errors import DomainError
from webapp.services.core.i18n import N_, _

__all__ = ["END_OF_TERM", "IMMEDIATELY", "TRIAL_END", "change_event", "timings_for",
           "ChangeApplied", "ChangeDraft", "ChangeRequest", "Choices",
           "PriceChanged", "choices", "confirm_change", "draft_change", "request_from_dict"]


@dataclass(frozen=True)
class ChangeApplied:
    subscription: Subscription
    invoice: Invoice | None
    scheduled: bool
    payment: Payment | None = None  # an auto-charged change waits for this charge
    billed_from: date | None = None  # a change during a trial: the trial's end


def confirm_change(session: Session, *, customer_id: int, subscription_id: int,
                   request: ChangeRequest, fingerprint: str, at: Moment,
                   allowed: Choices | None = None) -> ChangeApplied:
    """Apply the change the customer previewed, or refuse if its figures moved."""
    current = draft_change(session, customer_id=customer_id, subscription_id=subscription_id,
                           request=request, at=at, allowed=allowed)
    if current.fingerprint() != fingerprint:
        raise PriceChanged()
    sub = owned_subscription(session, customer_id, subscription_id)
    if current.timing == TRIAL_END:
        # Nothing to invoice during a trial: the items change now, and the trial's end (or
        # Activate Subscription) bills the first term with them.
        state_machine.transition(session, sub, "change_in_trial", "trial", now=at.now)
        if not apply_change(session, sub, current.payload, now=at.now):
            raise DomainError(_("This coupon has been used up."))
        send_confirmation(session, sub, current, at=at, message=dated(
            N_("%(summary)s: done. It is billed from %(on)s, when the trial ends."),
            summary=current.summary, on=current.effective_on))
        return ChangeApplied(sub, None, False, billed_from=current.effective_on)
    if current.timing == END_OF_TERM:
        state_machine.check(sub.status, "change_at_term_end")
        for old in session.exec(select(ScheduledChange).where(
                ScheduledChange.subscription_id == sub.id)):
            session.delete(old)
        session.add(ScheduledChange(subscription_id=sub.id, kind="change",
                                    effective_on=current.effective_on,
                                    payload={**current.payload,
                                             "summary": current.summary.as_json()},
                                    created_at=at.now))
        send_confirmation(session, sub, current, at=at,
                          message=dated(N_("%(summary)s is scheduled for %(on)s."),
                                        summary=current.summary, on=current.effective_on))
        return ChangeApplied(sub, None, True)
    if sub.autocharge and sub.payment_method_id and current.amount_due > 0:
        # Charge first: a decline must leave the subscription exactly as it was. The outcome
        # (payment_effects) applies the change in the transaction that records the payment.
        payment = charges.start(
            session, customer_id=customer_id, amount=current.amount_due, currency=sub.currency,
            payment_method_id=sub.payment_method_id,
            idempotency_key=_change_key(session, customer_id, fingerprint),
            invoice_ids=[], now=at.now, purpose="change", subscription_id=sub.id,
            intent={"change": request_to_dict(request), "fingerprint": fingerprint})
        return ChangeApplied(sub, None, False, payment)
    invoice = apply_now(session, sub, current, at=at)
    send_confirmation(session, sub, current, at=at,
                      message=dated(N_("%(summary)s: done."), summary=current.summary))
    return ChangeApplied(sub, invoice, False)


def _change_key(session: Session, customer_id: int, fingerprint: str) -> str:
    """The same change submitted twice is one charge; after a failed charge (a decline, or
    nothing answered) trying the same change again is a new attempt."""
    failed = session.exec(select(func.count()).select_from(Payment).where(
        Payment.customer_id == customer_id, Payment.status == "failed",
        Payment.idempotency_key.startswith(f"change-{fingerprint}"))).one()
    return f"change-{fingerprint}" + (f"-{failed}" if failed else "")


