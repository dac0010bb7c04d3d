"""Terms the customer starts: Activate Subscription, Reactivate Subscription, Extend Trial.

The summary and the invoice come from one `billing.draft`, so they are equal to the cent; the
confirm form carries the summary's fingerprint and is refused if anything moved. When the
saved card is to be charged, confirming changes nothing about the subscription: it only starts
a pending payment whose intent carries the drafted invoice. The charge's outcome
(`payment_effects` -> `apply_paid_action`) issues exactly that invoice, pays it and moves the
state on; a decline leaves nothing behind but the failed payment attempt.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import SimpleNamespace

from sqlmodel import Session

from webapp.models import Invoice, PaymentMethod, Plan, Subscription
from webapp.services.billing import charges, credits, tax
from webapp.services.billing import terms as billing
from webapp.services.billing.catalog import subscription_items
from webapp.services.billing.changes import PriceChanged  # one refusal for every summary
from webapp.services.billing.context import Context, confirm, context
from webapp.services.billing.paid_terms import (
    ACTIVATE,
    PURPOSES,
    REACTIVATE,
    begin_term,
    confirm_term,
    encode_draft,
)
from webapp.services.core import preferences, state_machine
from webapp.services.core.dates import dated
from webapp.services.core.errors import DomainError
from webapp.services.core.i18n import N_, _
from webapp.services.subscriptions.actions.common import TRIAL_EXTENDED, owned
from webapp.services.subscriptions.lifecycle import INVOICE_DUE_DAYS
from webapp.services.subscriptions.views import owned_subscription

_PERMISSIONS = {ACTIVATE: preferences.TRIAL_ACTIVATE, REACTIVATE: preferences.SUBSCRIPTION_REACTIVATE}
_TERMS = {ACTIVATE: ("first_term", True), REACTIVATE: ("reactivation", False)}  # kind, setup fee
DONE = {ACTIVATE: _("Your trial has ended and the subscription is now live."),
        REACTIVATE: _("The subscription is live again.")}
NOT_DONE = {ACTIVATE: _("The subscription was not activated; nothing changed."),
            REACTIVATE: _("The subscription was not reactivated; nothing changed.")}


@dataclass(frozen=True)
class TermSummary:
    """What confirming bills: the first invoice of the new term, credit, and how it is paid."""

    subscription: Subscription
    event: str
    invoice: billing.InvoiceDraft
    credit_applied: int  # the customer's unused credit this invoice would use
    payment_method: PaymentMethod | None
    charges_card: bool  # the saved card is charged on confirm (auto-charge on, something due)
    due_date: date
    # Manage Subscription may change plan and addons before this summary (the hook for
    # reactivating with changes: on once the edit page accepts the subscription's state).
    edit_first: bool = False

    @property
    def amount_due(self) -> int:
        return self.invoice.priced.total - self.credit_applied

    def fingerprint(self) -> str:
        """Everything the customer agrees to; the confirm form carries it."""
        payload = [self.event, self.invoice.fingerprint(), self.credit_applied,
                   self.payment_method.id if self.payment_method else None, self.charges_card]
        return hashlib.sha256(json.dumps(payload).encode()).hexdigest()[:32]


@dataclass(frozen=True)
class TermStarted:
    subscription: Subscription
    event: str
    payment_id: int | None  # a charge to run after commit; None when the term already started
    invoice: Invoice | None
    message: str


def activation_summary(session: Session, *, customer_id: int, subscription_id: int,
                       now: datetime) -> TermSummary:
    """Activate Subscription's summary: the first invoice if the trial ended today."""
    ctx = context(session, now)
    return _summary(ctx, owned(ctx, customer_id, subscription_id), ACTIVATE)


def reactivation_summary(session: Session, *, customer_id: int, subscription_id: int,
                         now: datetime) -> TermSummary:
    """Proceed to Reactivate: the reactivation invoice for a new term from today."""
    ctx = context(session, now)
    return _summary(ctx, owned(ctx, customer_id, subscription_id), REACTIVATE)


def activate(session: Session, *, customer_id: int, subscription_id: int, fingerprint: str,
             idempotency_key: str, now: datetime) -> TermStarted:
    """End the trial today and go live, or start the charge that decides it."""
    return _start(session, ACTIVATE, customer_id=customer_id, subscription_id=subscription_id,
                  fingerprint=fingerprint, idempotency_key=idempotency_key, now=now)


def reactivate(session: Session, *, customer_id: int, subscription_id: int, fingerprint: str,
               idempotency_key: str, now: datetime) -> TermStarted:
    """Start a new term from today, or start the charge that decides it."""
    return _start(session, REACTIVATE, customer_id=customer_id, subscription_id=subscription_id,
                  fingerprint=fingerprint, idempotency_key=idempotency_key, now=now)


def _summary(ctx: Context, sub: Subscription, event: str) -> TermSummary:
    preferences.require(ctx.prefs, _PERMISSIONS[event])
    state_machine.check(sub.status, event, "live")
    if event == REACTIVATE and state_machine.never_started(sub):
        raise DomainError(state_machine.NEVER_STARTED)
    kind, setup_fee = _TERMS[event]
    items = subscription_items(ctx.session, [sub])[sub.id]
    # A term that starts today is anchored on today, as a resumed term is (lifecycle); draft
    # reads only the id and the anchor when given the items.
    anchored = SimpleNamespace(id=sub.id, anchor_day=ctx.today.day)
    draft = billing.draft(ctx.session, anchored, billing.Term(ctx.today, kind, setup_fee),
                          tax=tax.tax_for(ctx.session, sub.customer_id), items=items)
    total = draft.priced.total
    credit = min(total, credits.unused_credit(ctx.session, customer_id=sub.customer_id)) \
        if total > 0 else 0
    method = ctx.session.get(PaymentMethod, sub.payment_method_id) \
        if sub.payment_method_id else None
    if method is not None and method.status != "active":
        method = None
    charges_card = sub.autocharge and method is not None and total - credit > 0
    due = ctx.today if charges_card else ctx.today + timedelta(days=INVOICE_DUE_DAYS)
    edit_first = event == REACTIVATE and state_machine.allowed(sub.status, "change_now") and \
        preferences.allowed(ctx.prefs, preferences.SUBSCRIPTION_EDIT)
    return TermSummary(sub, event, draft, credit, method, charges_card, due, edit_first)


def _start(session: Session, event: str, *, customer_id: int, subscription_id: int,
           fingerprint: str, idempotency_key: str, now: datetime) -> TermStarted:
    ctx = context(session, now)
    replay = charges.by_key(session, customer_id=customer_id, idempotency_key=idempotency_key)
    if replay is not None:
        # The same form again (a double click, a retry after a timeout): the same charge.
        sub = owned_subscription(session, customer_id, subscription_id)
        if replay.subscription_id != sub.id or replay.purpose != PURPOSES[event]:
            raise DomainError(_("This form was already used. Reload the page and try again."))
        return TermStarted(sub, event, replay.id, None, "")
    sub = owned(ctx, customer_id, subscription_id)
    summary = _summary(ctx, sub, event)
    if summary.fingerprint() != fingerprint:
        raise PriceChanged()
    if summary.charges_card:
        payment = charges.start(
            session, customer_id=customer_id, amount=summary.amount_due, currency=sub.currency,
            payment_method_id=summary.payment_method.id, idempotency_key=idempotency_key,
            invoice_ids=[], now=now, purpose=PURPOSES[event], subscription_id=sub.id,
            attempt=1, intent={"event": event, "today": ctx.today.isoformat(),
                               "invoice": encode_draft(summary.invoice)})
        # Holds the tick (and every other action) off this subscription until the outcome.
        sub.awaiting_payment_id = payment.id
        return TermStarted(sub, event, payment.id, None, "")
    invoice = begin_term(ctx, sub, event, summary.invoice, due_date=summary.due_date,
                         key=idempotency_key)
    confirm_term(ctx, sub, event, invoice, paid_with=None)
    done = _("%(done)s Invoice %(number)s is paid by your credit.", done=DONE[event],
             number=invoice.number) if invoice.status == "paid" else \
        _("%(done)s Invoice %(number)s is ready.", done=DONE[event], number=invoice.number)
    return TermStarted(sub, event, None, invoice, done)


# -- the drafted invoice travels in the payment's intent (JSON) -------------------------------


# -- Extend Trial -----------------------------------------------------------------------------

@dataclass(frozen=True)
class TrialExtension:
    days: int  # the plan's trial length
    left: int  # extensions still allowed, this one included


def trial_extension(session: Session, prefs, sub: Subscription) -> TrialExtension | None:
    """What Extend Trial would give this subscription now, or None if it is not offered."""
    if not (preferences.allowed(prefs, preferences.TRIAL_EXTEND)
            and state_machine.allowed(sub.status, "extend_trial")
            and sub.expired_reason == "trial_end"):
        return None
    days = session.get(Plan, sub.plan_id).trial_days
    left = prefs.trial_max_extensions - sub.trial_extensions_used
    return TrialExtension(days, left) if days > 0 and left > 0 else None


def extend_trial(session: Session, *, customer_id: int, subscription_id: int,
                 now: datetime) -> Subscription:
    """Give an expired trial another trial period of the plan's length (count capped)."""
    ctx = context(session, now)
    preferences.require(ctx.prefs, preferences.TRIAL_EXTEND)
    sub = owned(ctx, customer_id, subscription_id)
    state_machine.check(sub.status, "extend_trial", "trial")
    extension = trial_extension(session, ctx.prefs, sub)
    if extension is None:
        raise DomainError(_("This trial cannot be extended any further."))
    used, end = sub.trial_extensions_used, ctx.today + timedelta(days=extension.days)
    state_machine.transition(
        session, sub, "extend_trial", "trial", now=now, guard={"trial_extensions_used": used},
        expired_reason=None, trial_start=ctx.today, trial_end=end, current_term_start=ctx.today,
        current_term_end=end, next_billing_date=end, trial_extensions_used=used + 1)
    confirm(ctx, sub, event=TRIAL_EXTENDED,
            subject=_("Your trial of %(number)s is extended", number=sub.number),
            message=dated(N_("Your trial of %(number)s now runs until %(end)s."),
                          number=sub.number, end=end),
            org_title=N_("%(number)s: trial extended"),
            org_body=N_("extended the trial by %(days)s days (extension %(extension)s)."),
            org_params={"number": sub.number, "days": extension.days, "extension": used + 1})
    return sub
