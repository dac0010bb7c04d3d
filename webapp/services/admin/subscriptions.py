"""Subscriptions in the back office: create one for a customer, and the admin's changes.

A new subscription bills exactly as any other: "start now" and "start on a date" make a
`future` subscription that the tick (lifecycle) starts on its start date, issuing the first
invoice (and charging it with auto-charge) the way it does for every subscription; a trial that
starts today is written as the tick would have left it, in `trial` until `trial_end`. The admin's
plan change goes through services/subscription_changes.py (the same preview and proration as
the customer's), and so do cancel and pause (services/subscription_actions: the same
cancellation and pause schedule, with the admin choosing the timing and the credit and passing
the customers' preference switches, but not the billing rules).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from webapp.models import (
    Addon,
    AddonPrice,
    Coupon,
    Customer,
    Invoice,
    Organization,
    PaymentMethod,
    Plan,
    PlanPrice,
    Subscription,
    SubscriptionAddon,
    SubscriptionCoupon,
)
from webapp.services.admin import Actor, catalog
from webapp.services.admin.customers import get_customer
from webapp.services.billing import charges, ledger
from webapp.services.billing import context as billing_context
from webapp.services.billing.invoices import InvoiceRow
from webapp.services.core import (
    audit,
    dates,
    events,
    notifications,
    numbering,
    outbox,
    preferences,
    state_machine,
)
from webapp.services.core.dates import Dated, Moment, dated
from webapp.services.core.errors import DomainError, InvalidInput, NotFound
from webapp.services.core.i18n import N_, _
from webapp.services.core.preferences import InvalidChanges
from webapp.services.subscriptions import changes as subscription_changes
from webapp.services.subscriptions import lifecycle
from webapp.services.subscriptions.actions.cancel import (
    UnusedTime,
    cancel_subscription,
    credit_sentence,
    unused_time,
)
from webapp.services.subscriptions.actions.schedule import set_pause_schedule
from webapp.services.subscriptions.views import SubscriptionDetail, subscription_detail

MAX_QUANTITY = 999
IMMEDIATELY, END_OF_TERM = "immediately", "end_of_term"


# --- Creating ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class SubscriptionChoices:
    customer: Customer
    plans: tuple[tuple[Plan, PlanPrice], ...]
    addons: tuple[tuple[Addon, object], ...]  # (addon, its price in the customer's currency)
    methods: tuple[PaymentMethod, ...]


def choices(session: Session, *, customer_id: int) -> SubscriptionChoices:
    """What a new subscription for this customer may have: active items in their currency."""
    customer = get_customer(session, customer_id)
    methods = session.exec(select(PaymentMethod).where(
        PaymentMethod.customer_id == customer_id, PaymentMethod.status == "active")
        .order_by(PaymentMethod.is_default.desc(), PaymentMethod.id)).all()
    return SubscriptionChoices(customer, catalog.active_plans(session, customer.currency),
                               catalog.active_addons(session, customer.currency),
                               tuple(methods))


@dataclass(frozen=True)
class NewSubscription:
    plan_id: int | None
    addons: Mapping[int, str] = field(default_factory=dict)  # addon id -> typed quantity
    coupon_code: str = ""
    start_date: date | None = None  # None: today
    trial: bool = False
    payment_method_id: int | None = None
    autocharge: bool = False


@dataclass(frozen=True)
class Terms:
    """Everything a new subscription row needs besides its items."""

    status: str
    start_date: date
    anchor_day: int
    trial_start: date | None = None
    trial_end: date | None = None
    current_term_start: date | None = None
    current_term_end: date | None = None
    next_billing_date: date | None = None
    cycles_billed: int = 0


def starting_terms(plan: Plan, start: date, *, trial: bool, today: date) -> Terms:
    """A subscription that starts on `start`: future until then (trial or live from there)."""
    trial_end = start + timedelta(days=plan.trial_days) if trial else None
    # Billing is anchored on the day the first paid term starts.
    anchor = (trial_end or start).day
    if trial and start <= today:
        # What the tick's start would leave: in trial, the term is the trial.
        return Terms("trial", start, anchor, trial_start=start, trial_end=trial_end,
                     current_term_start=start, current_term_end=trial_end,
                     next_billing_date=trial_end)
    return Terms("future", start, anchor, trial_end=trial_end, next_billing_date=start)


def _quantities(errors: dict, raw: Mapping[int, str], offered: set[int],
                prefix: str = "addon_") -> dict[int, int]:
    quantities = {}
    for addon_id, text in raw.items():
        text = (str(text) if text is not None else "").strip()
        if not text:
            continue
        if addon_id not in offered:
            errors["addons"] = _("Choose among the addons offered.")
            continue
        if not text.lstrip("-").isdigit() or not 0 <= int(text) <= MAX_QUANTITY:
            errors[f"{prefix}{addon_id}"] = _("Enter a whole number from %(low)d to %(high)d.",
                                              low=0, high=MAX_QUANTITY)
            continue
        if int(text) > 0:
            quantities[addon_id] = int(text)
    return quantities


def _checked(session: Session, offer: SubscriptionChoices, data: NewSubscription,
             at: Moment) -> tuple[Plan, dict[int, int], Coupon | None, Terms]:
    errors: dict[str, str] = {}
    plans = {plan.id: plan for plan, _ in offer.plans}
    plan = plans.get(data.plan_id or 0)
    if plan is None:
        errors["plan_id"] = _("Choose an active plan priced in %(currency)s.",
                              currency=offer.customer.currency)
    quantities = _quantities(errors, data.addons, {a.id for a, _ in offer.addons})
    start = data.start_date or at.today
    if start < at.today:
        errors["start_date"] = _("The start date cannot be before today.")
    if data.trial and plan is not None and plan.trial_days <= 0:
        errors["trial"] = _("The %(plan)s plan has no trial.", plan=plan.name)
    methods = {m.id for m in offer.methods}
    if data.payment_method_id is not None and data.payment_method_id not in methods:
        errors["payment_method_id"] = _("Choose one of the customer's saved payment methods.")
    if data.autocharge and data.payment_method_id is None:
        errors["autocharge"] = _("Auto-charge needs a saved payment method.")
    coupon = None
    if (data.coupon_code or "").strip() and plan is not None:
        try:
            coupon = catalog.usable_coupon(session, code=data.coupon_code, plan_id=plan.id,
                                           currency=offer.customer.currency, at=at)
        except InvalidInput as exc:
            errors["coupon_code"] = exc.message
    if errors:
        raise InvalidChanges(errors)
    return plan, quantities, coupon, starting_terms(plan, start, trial=data.trial, today=at.today)


def create_subscription(session: Session, *, actor: Actor, customer_id: int,
                        data: NewSubscription, at: Moment) -> Subscription:
    """A new subscription for the customer. Audited. One that starts today without a trial
    and is charged automatically is started now: its first charge waits to be run
    (`awaiting_payment_id`), and it goes live only if that charge succeeds (else "creation
    failed"). Any other waits for the tick, which issues its first invoice on its start date."""
    offer = choices(session, customer_id=customer_id)
    plan, quantities, coupon, terms = _checked(session, offer, data, at)
    sub = write(session, actor=actor, customer=offer.customer, plan=plan, addons=quantities,
                coupon=coupon, terms=terms, payment_method_id=data.payment_method_id,
                autocharge=data.autocharge, now=at.now)
    if sub.status == "future" and sub.trial_end is None and sub.start_date <= at.today and \
            sub.autocharge and sub.payment_method_id is not None:
        lifecycle.start_now(session, sub, now=at.now)
    return sub


def retry_creation(session: Session, *, actor: Actor, subscription_id: int,
                   at: Moment) -> Subscription:
    """Try a failed creation again: a new first term from today, its charge left to run now
    (`awaiting_payment_id`) on the subscription's card. Audited."""
    sub = _ready(session, subscription_id)
    state_machine.check(sub.status, "retry_creation")
    if not (sub.autocharge and sub.payment_method_id is not None):
        raise DomainError(_("The subscription has no card to charge: discard it and create it "
                            "again with a payment method."))
    before = {"status": sub.status, "creation_error": sub.creation_error}
    state_machine.transition(session, sub, "retry_creation", "future", now=at.now,
                             start_date=at.today, anchor_day=at.today.day, creation_error=None,
                             next_billing_date=at.today)
    lifecycle.start_now(session, sub, now=at.now)
    audit.record(session, actor_user_id=actor.user_id, actor_label=actor.label,
                 action="subscription.retry_creation", subject_type="subscription",
                 subject_id=sub.id, before=before, after={"status": sub.status},
                 now=at.now, customer_id=sub.customer_id)
    return sub


def discard(session: Session, *, actor: Actor, subscription_id: int, at: Moment) -> Subscription:
    """Discard a subscription whose creation failed: it ends (cancelled), never billed. Audited."""
    sub = _ready(session, subscription_id)
    state_machine.check(sub.status, "discard")
    before = {"status": sub.status, "creation_error": sub.creation_error}
    state_machine.transition(session, sub, "discard", "cancelled", now=at.now,
                             cancelled_on=at.today, next_billing_date=None,
                             cancel_reason="Discarded: its creation failed.")
    audit.record(session, actor_user_id=actor.user_id, actor_label=actor.label,
                 action="subscription.discard", subject_type="subscription", subject_id=sub.id,
                 before=before, after={"status": sub.status}, now=at.now,
                 customer_id=sub.customer_id)
    return sub


def write(session: Session, *, actor: Actor, customer: Customer, plan: Plan,
          addons: Mapping[int, int], coupon: Coupon | None, terms: Terms, now: datetime,
          payment_method_id: int | None = None, autocharge: bool = False,
          action: str = "subscription.create") -> Subscription:
    """Write a checked subscription with its addons and coupon (the form and the import)."""
    sub = Subscription(number=numbering.take_one(session, "subscription"),
                       customer_id=customer.id, plan_id=plan.id, currency=customer.currency,
                       payment_method_id=payment_method_id, autocharge=autocharge,
                       created_at=now, updated_at=now, **terms.__dict__)
    session.add(sub)
    session.flush()
    session.add_all(SubscriptionAddon(subscription_id=sub.id, addon_id=addon_id, quantity=q)
                    for addon_id, q in addons.items())
    if coupon is not None:
        catalog.redeem(session, coupon)
        session.add(SubscriptionCoupon(subscription_id=sub.id, coupon_id=coupon.id,
                                       applied_at=now))
    session.flush()
    events.emit(session, "subscription.created", events.public("subscription", sub), now=now)
    state_machine.changed(session, sub.id, now=now)  # its MRR movement, if it counts already
    audit.record(session, actor_user_id=actor.user_id, actor_label=actor.label, action=action,
                 subject_type="subscription", subject_id=sub.id, before={},
                 after={"number": sub.number, "plan": plan.code, "status": sub.status,
                        "start_date": sub.start_date, "trial_end": sub.trial_end,
                        "addons": {str(k): v for k, v in addons.items()},
                        "coupon": coupon.code if coupon else None, "autocharge": autocharge},
                 now=now, customer_id=customer.id)
    return sub


# --- One subscription, as the admin sees it ----------------------------------------------------

@dataclass(frozen=True)
class AdminSubscription:
    customer: Customer
    detail: SubscriptionDetail
    invoices: tuple[InvoiceRow, ...]
    unused: UnusedTime | None = None  # what cancelling now may credit (paid, unused days)

    @property
    def subscription(self) -> Subscription:
        return self.detail.subscription

    @property
    def can_cancel_now(self) -> bool:
        return state_machine.allowed(self.subscription.status, "cancel_now")

    @property
    def can_cancel_at_term_end(self) -> bool:
        return state_machine.allowed(self.subscription.status, "schedule_cancel") and \
            self.subscription.current_term_end is not None

    @property
    def cancel_timings(self) -> tuple[str, ...]:
        return tuple(t for t, ok in ((IMMEDIATELY, self.can_cancel_now),
                                     (END_OF_TERM, self.can_cancel_at_term_end)) if ok)

    @property
    def can_pause(self) -> bool:
        return state_machine.allowed(self.subscription.status, "pause")

    @property
    def can_resume(self) -> bool:
        return state_machine.allowed(self.subscription.status, "resume")

    @property
    def can_change(self) -> bool:
        return state_machine.changeable(self.subscription.status)


def _subscription(session: Session, subscription_id: int) -> Subscription:
    sub = session.get(Subscription, subscription_id)
    if sub is None:
        raise NotFound(_("No such subscription."))
    return sub


def subscription_view(session: Session, *, subscription_id: int, at: Moment) -> AdminSubscription:
    sub = _subscription(session, subscription_id)
    detail = subscription_detail(session, customer_id=sub.customer_id, subscription_id=sub.id,
                                 at=at)
    bills = session.exec(select(Invoice).where(Invoice.subscription_id == sub.id)
                         .order_by(Invoice.issue_date.desc(), Invoice.id.desc()).limit(50)).all()
    unused = unused_time(session, sub, at) \
        if state_machine.allowed(sub.status, "cancel_now") else None
    return AdminSubscription(session.get(Customer, sub.customer_id), detail,
                             tuple(InvoiceRow.of(i, sub.number, at.today) for i in bills), unused)


# --- The admin's changes ----------------------------------------------------------------------

def _ready(session: Session, subscription_id: int) -> Subscription:
    sub = _subscription(session, subscription_id)
    if sub.awaiting_payment_id is not None:
        raise DomainError(_("A payment for this subscription is being processed. "
                            "Wait a moment, then reload the page."))
    return sub


def _tell_customer(session: Session, sub: Subscription, subject: object, message: Dated | str,
                   now: datetime) -> None:
    """The customer's mail; its message's dates and amounts are written in their locale
    when it is sent."""
    customer = session.get(Customer, sub.customer_id)
    outbox.enqueue(session, template="admin_subscription_update", to=customer.email,
                   subject=subject, customer_id=customer.id,
                   context={"name": customer.display_name, "number": sub.number,
                            "message": dates.as_json(message), "page": outbox.page("subscriptions.detail", subscription_id=sub.id)}, now=now)


def cancel(session: Session, *, actor: Actor, subscription_id: int, timing: str, reason: str,
           at: Moment, credit_unused: bool = False) -> Subscription:
    """Cancel now or at the end of the current term; audited.

    The customer's cancellation (`cancel_subscription`), with the admin's options: not bound
    by the customers' cancellation preferences, only by the states; cancelling now credits the
    unused time of what the customer holds now when the admin asks for it.
    """
    sub = _ready(session, subscription_id)
    why = " ".join((reason or "").split())[:500] or "Cancelled by the organization"
    before = sub.status
    ctx = billing_context.context(session, at.now)
    result = cancel_subscription(ctx, sub, timing=timing, why=why, credit_unused=credit_unused)
    note = result.credit_note
    message = dated(N_("%(number)s has been cancelled."), number=sub.number) \
        + credit_sentence(note) \
        if timing == IMMEDIATELY else result.message
    _tell_customer(session, sub, _("%(number)s is cancelled", number=sub.number)
                   if timing == IMMEDIATELY
                   else _("%(number)s will be cancelled", number=sub.number), message, at.now)
    notifications.notify_org(session, event=notifications.SUBSCRIPTION_CANCELLED,
                             title=N_("%(number)s cancelled by %(actor)s"),
                             body=N_("%(message)s Reason: %(reason)s"), now=at.now,
                             customer_id=sub.customer_id,
                             params={"number": sub.number, "actor": actor.label,
                                     "message": message, "reason": why})
    audit.record(session, actor_user_id=actor.user_id, actor_label=actor.label,
                 action=f"subscription.cancel_{timing}", subject_type="subscription",
                 subject_id=sub.id, before={"status": before},
                 after={"status": sub.status, "reason": why,
                        "credit_note": note.number if note else None}, now=at.now,
                 customer_id=sub.customer_id)
    return sub


def pause(session: Session, *, actor: Actor, subscription_id: int, pause_on: date | None,
          resume_on: date | None, at: Moment, when: str = "on_date") -> Subscription:
    """Schedule a pause (live) or set the resume date (paused); the tick pauses and resumes.

    The customer's pause schedule without the customers' pause switch: the dates and the
    longest pause still hold. Audited.
    """
    sub = _ready(session, subscription_id)
    before = {"pause_on": sub.pause_on, "resume_on": sub.resume_on}
    try:
        ctx = billing_context.context(session, at.now)
        message = set_pause_schedule(ctx, sub, pause_on=pause_on, resume_on=resume_on,
                                     when=when)
    except InvalidInput as exc:  # one field at a time, as the admin's form shows them
        raise InvalidChanges({exc.field or "resume_on": exc.message}) from None
    _tell_customer(session, sub, _("Pause schedule for %(number)s", number=sub.number),
                   message, at.now)
    audit.record(session, actor_user_id=actor.user_id, actor_label=actor.label,
                 action="subscription.pause", subject_type="subscription", subject_id=sub.id,
                 before=before, after={"pause_on": sub.pause_on, "resume_on": sub.resume_on},
                 now=at.now, customer_id=sub.customer_id)
    return sub


# --- Change plan (and addons), through the customer's change service ---------------------------

def change_choices(session: Session, *, subscription_id: int) -> subscription_changes.Choices:
    """Every active plan and recurring addon in the subscription's currency, either timing."""
    sub = _subscription(session, subscription_id)
    state_machine.check(sub.status, subscription_changes.change_event(sub.status))
    # What the subscription has now stays offered even if it was archived since.
    plans = session.exec(select(Plan.id, Plan.name, PlanPrice.amount, Plan.interval_unit,
                                Plan.interval_count)
                         .join(PlanPrice, PlanPrice.plan_id == Plan.id)
                         .where(PlanPrice.currency == sub.currency,
                                (Plan.status == "active") | (Plan.id == sub.plan_id))
                         .order_by(PlanPrice.amount, Plan.id)).all()
    held = {link.addon_id: link.quantity for link in session.exec(
        select(SubscriptionAddon).where(SubscriptionAddon.subscription_id == sub.id))}
    addons = session.exec(select(Addon.id, Addon.name, AddonPrice.unit_amount)
                          .join(AddonPrice, AddonPrice.addon_id == Addon.id)
                          .where(AddonPrice.currency == sub.currency, Addon.kind == "recurring",
                                 (Addon.status == "active") | col(Addon.id).in_(list(held) or [0]))
                          .order_by(Addon.name, Addon.id)).all()
    addons = tuple((i, name, unit, held.get(i, 0)) for i, name, unit in addons)
    return subscription_changes.Choices(tuple(tuple(plan) for plan in plans),
                                        addons, sub.plan_id, sub.currency, True, True, True,
                                        subscription_changes.timings_for(
                                            sub, preferences.load(session),
                                            (IMMEDIATELY, END_OF_TERM)))


def draft_change(session: Session, *, subscription_id: int,
                 request: subscription_changes.ChangeRequest,
                 at: Moment) -> subscription_changes.ChangeDraft:
    """The same preview a customer gets, with the admin's choices."""
    sub = _ready(session, subscription_id)
    return subscription_changes.draft_change(
        session, customer_id=sub.customer_id, subscription_id=sub.id, request=request,
        at=at, allowed=change_choices(session, subscription_id=sub.id))


@dataclass(frozen=True)
class ChangeMade:
    subscription: Subscription
    invoice: Invoice | None
    scheduled: bool
    payment_id: int | None  # an auto-charge started for the proration invoice


def confirm_change(session: Session, *, actor: Actor, subscription_id: int,
                   request: subscription_changes.ChangeRequest, fingerprint: str,
                   at: Moment) -> ChangeMade:
    """Apply the previewed change; refused if its figures moved. Audited.

    Unlike the customer's change it is not refused by a declined card: the proration invoice
    is issued and, with auto-charge, charged afterwards (a decline leaves it open).
    """
    current = draft_change(session, subscription_id=subscription_id, request=request, at=at)
    if current.fingerprint() != fingerprint:
        raise subscription_changes.PriceChanged()
    sub = _subscription(session, subscription_id)
    before = {"plan_id": sub.plan_id}
    invoice, payment_id, scheduled = None, None, current.timing == END_OF_TERM
    # Scheduled for the term's end, or made during a trial: nothing to invoice now.
    if current.timing in (END_OF_TERM, subscription_changes.TRIAL_END):
        subscription_changes.confirm_change(
            session, customer_id=sub.customer_id, subscription_id=sub.id, request=request,
            fingerprint=fingerprint, at=at,
            allowed=change_choices(session, subscription_id=sub.id))
    else:
        invoice = subscription_changes.apply_now(session, sub, current, at=at)
        payment_id = _bill_change(session, sub, invoice, at.now)
    audit.record(session, actor_user_id=actor.user_id, actor_label=actor.label,
                 action="subscription.change", subject_type="subscription", subject_id=sub.id,
                 before=before, after={**current.payload, "timing": current.timing,
                                       "summary": str(current.summary),
                                       "invoice": invoice.number if invoice else None},
                 now=at.now, customer_id=sub.customer_id)
    return ChangeMade(sub, invoice, scheduled, payment_id)


def _bill_change(session: Session, sub: Subscription, invoice: Invoice | None,
                 now: datetime) -> int | None:
    """Charge the proration invoice with auto-charge, else email it."""
    if invoice is None or ledger.balance_due(invoice) <= 0:
        return None
    method = session.get(PaymentMethod, sub.payment_method_id) if sub.payment_method_id else None
    if sub.autocharge and method is not None and method.status == "active":
        payment = charges.start(
            session, customer_id=sub.customer_id, amount=ledger.balance_due(invoice),
            currency=sub.currency, payment_method_id=method.id, now=now,
            idempotency_key=f"admin-change-{invoice.id}", invoice_ids=[invoice.id])
        return payment.id
    customer = session.get(Customer, sub.customer_id)
    org = session.get(Organization, 1)
    outbox.enqueue(session, template="invoice_issued", to=customer.email,
                   subject=_("Invoice %(number)s from %(org)s", number=invoice.number,
                             org=org.name), customer_id=customer.id,
                   context={"name": customer.display_name, "number": invoice.number,
                            "amount": invoice.total, "currency": invoice.currency,
                            "due_date": invoice.due_date.isoformat(),
                            "page": outbox.page("invoices.detail", invoice_id=invoice.id)}, now=now)
    return None


__all__ = ["SubscriptionChoices", "NewSubscription", "Terms", "starting_terms", "choices",
           "create_subscription", "write", "AdminSubscription", "subscription_view", "cancel",
           "pause", "change_choices", "draft_change", "confirm_change", "ChangeMade",
           "IMMEDIATELY", "END_OF_TERM"]
