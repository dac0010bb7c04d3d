"""A subscription change's billing: the prorated draft of a new plan, addons and coupons, and
writing it (now, or as its paid charge's outcome).

`draft_change` builds the preview and subscriptions.changes.confirm_change writes exactly that draft: the invoice
rows equal the preview's lines to the cent, and a confirm whose preview fingerprint no longer
matches is refused before anything is charged or written (DESIGN.md: Proration).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, select

from webapp.models import (
    Addon,
    AddonPrice,
    Coupon,
    CouponAmount,
    CouponPlan,
    Invoice,
    Organization,
    Payment,
    Plan,
    PlanPrice,
    Subscription,
    SubscriptionAddon,
    SubscriptionCoupon,
)
from webapp.services.billing import catalog, credits, ledger, tax, terms
from webapp.services.billing.catalog import CouponLine, subscription_items
from webapp.services.billing.context import Context, confirm, owned_subscription
from webapp.services.billing.pricing import (
    Charge,
    Line,
    Priced,
    base_description,
    price,
    prorate,
    taxed,
)
from webapp.services.core import events, preferences, state_machine, wording
from webapp.services.core.dates import Dated, Moment, dated, plain
from webapp.services.core.errors import DomainError, InvalidInput
from webapp.services.core.i18n import N_, _
from webapp.services.core.money import Amount

IMMEDIATELY, END_OF_TERM = "immediately", "end_of_term"
# During a trial: the change is written at once and billed from the trial's end (issue 30).
TRIAL_END = "trial_end"


class PriceChanged(DomainError):
    """The preview the customer confirmed is no longer what the change would bill."""

    def __init__(self) -> None:
        super().__init__(_("The price changed, review the new summary before confirming."))


@dataclass(frozen=True)
class ChangeRequest:
    """What the customer asked for; None means "keep as it is"."""

    plan_id: int | None = None
    addons: dict[int, int] | None = None  # addon id -> quantity (0 removes)
    coupon_code: str | None = None
    timing: str = IMMEDIATELY


@dataclass(frozen=True)
class Choices:
    """What the form may offer, by the preferences and the customer's currency."""

    plans: tuple[tuple[int, str, int, str, int], ...]  # id, name, price, interval unit, count
    addons: tuple[tuple[int, str, int, int], ...]  # id, name, unit price, current quantity
    current_plan_id: int
    currency: str
    may_change_plan: bool
    may_change_addons: bool
    may_change_coupons: bool
    timings: tuple[str, ...]


@dataclass(frozen=True)
class PreviewLine:
    description: str
    quantity: int
    amount: int  # before tax
    tax_amount: int

    @property
    def total(self) -> int:
        return self.amount + self.tax_amount


@dataclass(frozen=True)
class PreviewSheet:
    """An immediate change's preview as the customer reads it, lines that add up to what is
    due today: charges, subtotal, tax, total, each credit with its tax, credit applied, due.

    Presentation only: an item held before and after (seats added, the same plan) shows what
    changes, the new charge less its own unused time, instead of being billed again and
    credited back; the invoice and the credit note keep every line."""

    charges: tuple[PreviewLine, ...]
    subtotal: int
    tax: int
    total: int
    credits: tuple[PreviewLine, ...]  # positive amounts, taken off the total
    credit_applied: int
    due: int
    credit_left: int


@dataclass(frozen=True)
class ChangeDraft:
    timing: str
    payload: dict  # what the change sets (ids and numbers), for now or for renewal
    summary: Dated  # "Change plan to Pro" (str() writes it in the active language)
    invoice: Priced | None  # immediate changes: the proration invoice
    credit_lines: tuple[Line, ...] = ()  # unused time on the old items, positive amounts
    credit_total: int = 0  # Σ credit lines with their tax
    other_credit_applied: int = 0  # the customer's earlier unused credit this invoice uses
    days_left: int = 0
    term_days: int = 0
    effective_on: date | None = None
    renewal_price: Priced | None = None  # what each term costs after the change
    messages: tuple[str, ...] = field(default=())
    # The organization's proration setting the draft follows (preferences.PRORATE, ...):
    # the preview says which applies.
    proration: str = preferences.PRORATE

    @property
    def prorated(self) -> bool:
        """An immediate change billed for the days left (a proration invoice and credit)."""
        return self.timing == IMMEDIATELY and self.proration == preferences.PRORATE

    @property
    def credit_applied(self) -> int:
        if self.invoice is None:
            return 0
        return min(self.invoice.total, self.credit_total + self.other_credit_applied)

    @property
    def amount_due(self) -> int:
        return (self.invoice.total - self.credit_applied) if self.invoice else 0

    @property
    def credit_left(self) -> int:
        """New credit not used by this invoice: it goes to the customer's other open invoices,
        oldest first, and what is left to the next one."""
        return max(0, self.credit_total - max(0, (self.invoice.total if self.invoice else 0)
                                              - self.other_credit_applied))

    def sheet(self) -> PreviewSheet | None:
        """The preview's lines for the customer (None: nothing is invoiced now). An item held
        before and after shows only its difference, unless that leaves the charges below zero
        (a coupon on the same plan): then every charge and credit shows as invoiced."""
        if self.invoice is None:
            return None
        sheet = self._sheet(net=True)
        return sheet if sheet.total >= 0 else self._sheet(net=False)

    def _sheet(self, *, net: bool) -> PreviewSheet:
        credits = list(self.credit_lines)
        charges = []
        for line in self.invoice.lines:
            held = next((c for c in credits if _same_item(line, c)), None) if net else None
            if held is None:
                charges.append(PreviewLine(line.description, line.quantity, line.amount,
                                           line.tax_amount))
                continue
            credits.remove(held)
            if (line.amount, line.tax_amount) != (held.amount, held.tax_amount):
                charges.append(PreviewLine(line.description, line.quantity - held.quantity,
                                           line.amount - held.amount,
                                           line.tax_amount - held.tax_amount))
        shown = [PreviewLine(c.description, c.quantity, c.amount, c.tax_amount) for c in credits]
        if self.other_credit_applied:
            shown.append(PreviewLine(_("Unused credit on your account"), 1,
                                     self.other_credit_applied, 0))
        subtotal, tax_total = sum(c.amount for c in charges), sum(c.tax_amount for c in charges)
        total = subtotal + tax_total
        applied = max(0, min(total, sum(c.total for c in shown)))
        return PreviewSheet(tuple(charges), subtotal, tax_total, total, tuple(shown), applied,
                            total - applied, self.credit_left)

    def fingerprint(self) -> str:
        def lines(priced):
            return [[x.kind, x.description, x.quantity, x.unit_amount, x.amount, x.tax_amount]
                    for x in (priced.lines if priced else ())]

        payload = [self.timing, self.proration, self.payload, lines(self.invoice),
                   [[x.description, x.amount, x.tax_amount] for x in self.credit_lines],
                   self.other_credit_applied, lines(self.renewal_price)]
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _same_item(charge: Line, credit: Line) -> bool:
    """The charge for an item the customer already holds, at least as much of it as is
    credited (fewer seats keep their own charge and credit lines)."""
    return charge.unit_amount == credit.unit_amount and \
        base_description(charge.description) == base_description(credit.description) and \
        (charge.amount >= credit.amount >= 0 or charge.amount <= credit.amount <= 0)


def _validate(session: Session, sub: Subscription, request: ChangeRequest, at: Moment,
              allowed: Choices) -> dict:
    payload: dict = {}
    if request.timing not in allowed.timings:
        raise InvalidInput(_("Choose when the change takes effect."), field="timing")
    if request.plan_id is not None and request.plan_id != sub.plan_id:
        if not allowed.may_change_plan:
            raise InvalidInput(_("Changing the plan is not available."), field="plan_id")
        if request.plan_id not in {p[0] for p in allowed.plans}:
            raise InvalidInput(_("Choose one of the plans offered."), field="plan_id")
        payload["plan_id"] = request.plan_id
    if request.addons is not None:
        offered = {a[0]: a[3] for a in allowed.addons}
        wanted = {k: v for k, v in request.addons.items() if k in offered}
        if any(q < 0 or q > 999 for q in request.addons.values()):
            raise InvalidInput(_("Quantities go from 0 to 999."), field="addons")
        if set(request.addons) - set(offered):
            raise InvalidInput(_("Choose among the addons offered."), field="addons")
        if wanted != {k: v for k, v in offered.items() if k in wanted} or \
                any(offered[k] and k not in wanted for k in offered):
            if not allowed.may_change_addons:
                raise InvalidInput(_("Changing addons is not available."), field="addons")
            payload["addons"] = {str(k): v for k, v in {**offered, **wanted}.items() if v > 0}
    if request.coupon_code:
        if not allowed.may_change_coupons:
            raise InvalidInput(_("Adding coupons is not available."), field="coupon_code")
        coupon = usable_coupon(session, sub, request.coupon_code.strip().upper(),
                               payload.get("plan_id", sub.plan_id), at)
        payload["add_coupon_ids"] = [coupon.id]
    if not payload:
        raise InvalidInput(_("Change the plan, an addon quantity or add a coupon first."),
                           field="plan_id")
    return payload


def usable_coupon(session: Session, sub: Subscription, code: str, plan_id: int,
                  at: Moment) -> Coupon:
    coupon = session.exec(select(Coupon).where(Coupon.code == code)).first()
    if coupon is None or coupon.status != "active":
        raise InvalidInput(_("This coupon code does not exist."), field="coupon_code")
    if coupon.expires_on is not None and coupon.expires_on < at.today:
        raise InvalidInput(_("This coupon has expired."), field="coupon_code")
    if coupon.max_redemptions is not None and coupon.redemptions >= coupon.max_redemptions:
        raise InvalidInput(_("This coupon has been used up."), field="coupon_code")
    plans = set(session.exec(select(CouponPlan.plan_id).where(CouponPlan.coupon_id == coupon.id)))
    if plans and plan_id not in plans:
        raise InvalidInput(_("This coupon does not apply to this plan."), field="coupon_code")
    if coupon.discount_type == "fixed" and session.exec(select(CouponAmount).where(
            CouponAmount.coupon_id == coupon.id, CouponAmount.currency == sub.currency)).first() is None:
        raise InvalidInput(_("This coupon is not valid for %(currency)s.", currency=sub.currency),
                           field="coupon_code")
    if session.exec(select(SubscriptionCoupon).where(
            SubscriptionCoupon.subscription_id == sub.id,
            SubscriptionCoupon.coupon_id == coupon.id)).first() is not None:
        raise InvalidInput(_("This coupon is already on the subscription."), field="coupon_code")
    return coupon


@dataclass(frozen=True)
class _After:
    """What the subscription costs once the change is made (nothing written)."""

    renewal: Priced  # each term from the next renewal on
    term: Priced  # the whole current term as held after an immediate change


def _after(session: Session, sub: Subscription, payload: dict, tax_: tax.Tax,
           timing: str) -> _After:
    items = subscription_items(session, [sub])[sub.id]
    plan_id = payload.get("plan_id", sub.plan_id)
    plan = session.get(Plan, plan_id)
    plan_price = session.exec(select(PlanPrice).where(PlanPrice.plan_id == plan_id,
                                                      PlanPrice.currency == sub.currency)).one()
    charges = [Charge("plan", plan.name, 1, plan_price.amount)]
    quantities = {int(k): v for k, v in payload["addons"].items()} if "addons" in payload \
        else {a.addon.id: a.quantity for a in items.addons}
    if quantities:
        rows = session.exec(select(Addon, AddonPrice).join(AddonPrice, AddonPrice.addon_id == Addon.id)
                            .where(Addon.id.in_(list(quantities)), AddonPrice.currency == sub.currency)
                            .order_by(Addon.name)).all()
        charges += [Charge("addon", addon.name, quantities[addon.id], ap.unit_amount)
                    for addon, ap in rows if addon.kind == "recurring" and quantities[addon.id] > 0]
    added = []
    for coupon_id in payload.get("add_coupon_ids", []):
        coupon = session.get(Coupon, coupon_id)
        amount = session.exec(select(CouponAmount.amount).where(
            CouponAmount.coupon_id == coupon_id, CouponAmount.currency == sub.currency)).first()
        # Added now, it counts this term; at the end of the term, the next one.
        added.append(CouponLine(coupon, 1 if timing == IMMEDIATELY else 0, amount,
                                timing == IMMEDIATELY))
    coupons = [*items.coupons, *added]
    # A coupon's value per term is its value: the term's proration invoices discount with
    # the coupons counted for it (DESIGN.md: Proration); renewals with those still active.
    return _After(price(charges, [c.discount() for c in coupons if c.active], tax=tax_),
                  price(charges, [c.discount() for c in coupons if c.in_current_term], tax=tax_))


def draft_change(session: Session, *, customer_id: int, subscription_id: int,
                 request: ChangeRequest, at: Moment,
                 allowed: Choices | None = None) -> ChangeDraft:
    """The preview: for an immediate change, the exact proration invoice and credit.

    Both come from `pricing.prorate` over whole-term prices: the new items for the days left,
    and what the customer holds now (`terms.unused_time`) for the same days.
    `allowed` replaces the customer's preferences (the back office passes its own choices).
    """
    sub = owned_subscription(session, customer_id, subscription_id)
    allowed = allowed or choices(session, customer_id=customer_id, subscription_id=subscription_id)
    payload = _validate(session, sub, request, at, allowed)
    tax_ = tax.tax_for(session, sub.customer_id)
    mode = preferences.load(session).proration
    # Without proration a change made now bills nothing this term: what it adds (a coupon
    # too) counts from the next term, as at the end of the term.
    unprorated = request.timing == IMMEDIATELY and mode == preferences.NO_PRORATION_UPGRADE_NOW
    after = _after(session, sub, payload, tax_, END_OF_TERM if unprorated else request.timing)
    summary = _summary(session, sub, payload)
    if request.timing == TRIAL_END:
        # Nothing is billed during a trial: the first term bills the changed items.
        return ChangeDraft(TRIAL_END, payload, summary, None, effective_on=sub.trial_end,
                           renewal_price=after.renewal, proration=mode)
    if request.timing == END_OF_TERM:
        return ChangeDraft(END_OF_TERM, payload, summary, None, effective_on=sub.current_term_end,
                           renewal_price=after.renewal, proration=mode)
    if unprorated:
        return ChangeDraft(IMMEDIATELY, payload, summary, None, effective_on=at.today,
                           renewal_price=after.renewal, proration=mode)
    term_days, days_left = terms.term_days(sub), terms.days_left(sub, at.today)
    held = [Charge(line.kind, line.description, line.quantity, line.unit_amount)
            for line in after.term.lines if line.kind in ("plan", "addon", "discount")]
    charges = prorate([], held, term_days=term_days, days_left=days_left).charges
    invoice = taxed([c for c in charges if c.total], tax=tax_)
    unused = terms.unused_time(session, sub, at, tax=tax_)
    credit_lines = unused.priced.lines if unused else ()
    credit_total = unused.total if unused else 0
    other = credits.unused_credit(session, customer_id=customer_id)
    return ChangeDraft(IMMEDIATELY, payload, summary, invoice, credit_lines, credit_total,
                       min(other, invoice.total), days_left, term_days, at.today, after.renewal,
                       proration=mode)


def _summary(session: Session, sub: Subscription, payload: dict) -> Dated:
    """"Change plan to Pro, addons": written where it is shown, in the reader's language."""
    values = {}
    if "plan_id" in payload:
        values["plan"] = session.get(Plan, payload["plan_id"]).name
    if payload.get("add_coupon_ids"):
        values["coupon"] = session.get(Coupon, payload["add_coupon_ids"][0]).code
    key = ("plan" in values, "addons" in payload, "coupon" in values)
    summaries = wording.CHANGE_SUMMARIES  # also read back from a credit note's reason
    return dated(summaries[key], **values) if key in summaries else plain("Change ")


def send_confirmation(session: Session, sub: Subscription, change: ChangeDraft, *, at: Moment,
                      message: Dated | str) -> None:
    """The customer's confirmation email and the organization's notification."""
    org = session.get(Organization, 1)
    ctx = Context(session, at, org, preferences.load(session))
    details = [dated(N_("Each term now costs %(price)s."),
                     price=Amount(change.renewal_price.total, sub.currency))]
    if change.invoice is not None and change.amount_due:
        details.append(dated(N_("Due now: %(due)s."),
                             due=Amount(change.amount_due, sub.currency)))
    confirm(ctx, sub, event="subscription_changed",
            subject=_("%(number)s: %(summary)s", number=sub.number, summary=change.summary),
            message=message, details=details, org_title=N_("%(number)s: %(summary)s"),
            org_body=N_("%(message)s"),
            org_params={"number": sub.number, "summary": str(change.summary), "message": message})


def request_to_dict(request: ChangeRequest) -> dict:
    return {"plan_id": request.plan_id, "coupon_code": request.coupon_code,
            "timing": request.timing,
            "addons": {str(k): v for k, v in request.addons.items()} if request.addons else None}


def request_from_dict(data: dict) -> ChangeRequest:
    addons = data.get("addons")
    return ChangeRequest(data.get("plan_id"), {int(k): v for k, v in addons.items()} if addons
                         else None, data.get("coupon_code"), data.get("timing", IMMEDIATELY))


def apply_paid_change(session: Session, *, payment: Payment, at: Moment) -> None:
    """A charged change succeeded: make it, and put the payment on its proration invoice."""
    sub = session.get(Subscription, payment.subscription_id)
    change = draft_change(session, customer_id=sub.customer_id, subscription_id=sub.id,
                          request=request_from_dict(payment.intent["change"]), at=at)
    invoice = apply_now(session, sub, change, at=at)
    if invoice is not None:
        payment.intent = {**payment.intent, "invoice_ids": [invoice.id]}
        ledger.allocate(session, payment=payment, invoices=[invoice], on=at.today,
                        now=at.now)
    send_confirmation(session, sub, change, at=at,
                      message=dated(N_("%(summary)s: done."), summary=change.summary))


def apply_now(session: Session, sub: Subscription, change: ChangeDraft, *,
              at: Moment) -> Invoice | None:
    """Write an immediate change: the new items, the proration invoice (what the customer
    holds from now on) and the credit note for what they held, applied to that invoice first.
    Without proration (`no_proration_upgrade_now`) only the items change: the term's invoice
    stays what the customer holds, and the new price comes with the next term."""
    state_machine.transition(session, sub, "change_now", "live", now=at.now)
    credited = sub.held_invoice_id
    if not apply_change(session, sub, change.payload, this_term=change.prorated, now=at.now):
        raise DomainError(_("This coupon has been used up."))
    session.flush()
    invoice = None
    if not change.prorated:
        return None
    if change.invoice is not None and change.invoice.lines:
        invoice = ledger.issue_invoice(session, customer_id=sub.customer_id,
                                       currency=sub.currency, kind="proration",
                                       priced=change.invoice, issue_date=at.today,
                                       due_date=at.today, now=at.now, subscription_id=sub.id,
                                       period=ledger.Period(at.today, sub.current_term_end))
    else:
        sub.held_invoice_id = None  # the items held from now on cost nothing this term
    if change.credit_total > 0:
        ledger.create_credit_note(session, customer_id=sub.customer_id, currency=sub.currency,
                                  total=change.credit_total, subscription_id=sub.id,
                                  invoice_id=credited, apply_first=invoice,
                                  reason=wording.write(wording.CHANGE_CREDIT, number=sub.number,
                                                       change=wording.english(change.summary)),
                                  issue_date=at.today, now=at.now)
    return invoice


def apply_change(session: Session, sub: Subscription, payload: dict, *, now: datetime,
                 this_term: bool = False) -> bool:
    """Set plan, addon quantities and coupons from a change payload (ids and numbers).

    Each coupon added is redeemed (a guarded count against its limit); one used up meanwhile
    is not added, and False says so. `this_term`: the coupons count for the current term
    (an immediate change's proration invoice uses them), else from the next invoice on.
    The webhook event subscription.changed is written with the items before and after.
    """
    before = _items(session, sub)
    if payload.get("plan_id"):
        sub.plan_id = payload["plan_id"]
    if "addons" in payload:
        for link in session.exec(select(SubscriptionAddon).where(
                SubscriptionAddon.subscription_id == sub.id)):
            session.delete(link)
        session.flush()
        for addon_id, quantity in payload["addons"].items():
            if quantity > 0:
                session.add(SubscriptionAddon(subscription_id=sub.id, addon_id=int(addon_id),
                                              quantity=quantity))
    added = True
    for coupon_id in payload.get("add_coupon_ids", []):
        if not catalog.redeem(session, coupon_id):
            added = False
            continue
        session.add(SubscriptionCoupon(subscription_id=sub.id, coupon_id=coupon_id,
                                       applied_at=sub.updated_at, in_current_term=this_term,
                                       terms_used=1 if this_term else 0))
    session.flush()
    after = _items(session, sub)
    events.emit(session, "subscription.changed",
                events.public("subscription", sub, items=after), now=now,
                previous={"items": before})
    return added


def _items(session: Session, sub: Subscription) -> dict:
    """What a subscription.changed event says the subscription holds: plan, addons, coupons."""
    addons = session.exec(select(SubscriptionAddon.addon_id, SubscriptionAddon.quantity)
                          .where(SubscriptionAddon.subscription_id == sub.id)
                          .order_by(SubscriptionAddon.addon_id)).all()
    coupons = session.exec(select(SubscriptionCoupon.coupon_id)
                           .where(SubscriptionCoupon.subscription_id == sub.id)
                           .order_by(SubscriptionCoupon.coupon_id)).all()
    return {"plan_id": sub.plan_id,
            "addons": [{"addon_id": a, "quantity": q} for a, q in addons],
            "coupon_ids": list(coupons)}


def choices(session: Session, *, customer_id: int, subscription_id: int) -> Choices:
    sub = owned_subscription(session, customer_id, subscription_id)
    prefs = preferences.load(session)
    preferences.require(prefs, preferences.SUBSCRIPTION_EDIT)
    state_machine.check(sub.status, change_event(sub.status))
    plans = session.exec(select(Plan.id, Plan.name, PlanPrice.amount, Plan.interval_unit,
                                Plan.interval_count)
                         .join(PlanPrice, PlanPrice.plan_id == Plan.id)
                         .where(PlanPrice.currency == sub.currency,
                                (Plan.status == "active") | (Plan.id == sub.plan_id))
                         .order_by(PlanPrice.amount, Plan.id)).all()
    current = {a.addon.id: a.quantity for a in subscription_items(session, [sub])[sub.id].addons}
    addons = session.exec(select(Addon.id, Addon.name, AddonPrice.unit_amount)
                          .join(AddonPrice, AddonPrice.addon_id == Addon.id)
                          .where(AddonPrice.currency == sub.currency, Addon.kind == "recurring",
                                 (Addon.status == "active") | Addon.id.in_(list(current) or [0]))
                          .order_by(Addon.name)).all()
    return Choices(tuple(tuple(plan) for plan in plans),
                   tuple((i, n, p, current.get(i, 0)) for i, n, p in addons),
                   sub.plan_id, sub.currency,
                   preferences.allowed(prefs, preferences.SUBSCRIPTION_CHANGE_PLAN),
                   preferences.allowed(prefs, preferences.SUBSCRIPTION_CHANGE_ADDONS),
                   preferences.allowed(prefs, preferences.SUBSCRIPTION_CHANGE_COUPONS),
                   timings_for(sub, prefs, preferences.edit_timings(prefs)))


def change_event(status: str) -> str:
    """The state machine's event for a change in this state: during a trial, or now."""
    return "change_in_trial" if status == "trial" else "change_now"


def timings_for(sub: Subscription, prefs, offered: tuple[str, ...]) -> tuple[str, ...]:
    """When a change may take effect: at the trial's end during a trial, else the `offered`
    timings the proration setting allows."""
    if sub.status == "trial":
        return (TRIAL_END,)
    return preferences.change_timings(prefs, offered)
