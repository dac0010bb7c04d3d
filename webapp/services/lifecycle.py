"""The tick: process what is due at `now`, in batches; the caller commits each batch.

Every due event is claimed by a guarded update (state + the date being processed), engine
invoices are unique per (subscription, period start, kind), and on PostgreSQL the batch is
selected FOR UPDATE SKIP LOCKED, so two ticks at once, or the same tick twice, bill and charge
each event once. Charges are only *started* here (pending payments); the caller dispatches one
charge job per payment after commit, and the outcome (payment_effects) moves the state on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from webapp.models import (
    Customer,
    Invoice,
    Organization,
    Payment,
    Plan,
    ScheduledChange,
    Subscription,
    SubscriptionAddon,
    SubscriptionCoupon,
)
from webapp.services import (
    billing,
    charges,
    notifications,
    outbox,
    payment_effects,
    preferences,
    renewals,
    state_machine,
)
from webapp.services.dates import today_in
from webapp.services.errors import IllegalTransition
from webapp.services.ledger import balance_due
from webapp.services.money import format_money

INVOICE_DUE_DAYS = 7  # invoices that are not charged automatically


@dataclass
class TickResult:
    processed: int = 0
    payment_ids: list[int] = field(default_factory=list)
    more: bool = False


@dataclass(frozen=True)
class _Context:
    session: Session
    now: datetime
    today: date
    org: Organization
    prefs: object
    result: TickResult


def tick(session: Session, *, now: datetime, limit: int = 500, bulk: bool = True) -> TickResult:
    """Process up to `limit` due events per phase; `more` says another batch is waiting.

    With `bulk`, plain renewals are written set-based (`renewals`); `bulk=False` keeps every
    event on the per-subscription path (the tests compare the two).
    """
    org = session.get(Organization, 1)
    if org is None:
        return TickResult()
    ctx = _Context(session, now, today_in(org.timezone, now), org, preferences.load(session),
                   TickResult())
    for phase in (_start_future, _end_trials, _pause, _resume, _end_non_renewing, _renew,
                  _retry_dunning):
        query, handle = phase(ctx)
        rows = session.exec(query.order_by(Subscription.id).limit(limit + 1)
                            .with_for_update(skip_locked=True)).all()
        if len(rows) > limit:
            ctx.result.more, rows = True, rows[:limit]
        if bulk and phase is _renew and rows:
            rows = _renew_in_bulk(ctx, rows)
        for sub in rows:
            try:
                with session.begin_nested():
                    handle(ctx, sub)
                ctx.result.processed += 1
            except (IllegalTransition, IntegrityError, charges.ChargeInProgress,
                    charges.InvoicesSettled):
                continue  # another runner took this event first, or a payer is paying it
    _reminders(ctx, limit)
    _stale_charges(ctx, limit)
    return ctx.result


STALE_CHARGE_AFTER = timedelta(minutes=10)


def _stale_charges(ctx: _Context, limit: int) -> None:
    """Engine charges still pending (a worker died, the gateway did not answer) go out again;
    the same idempotency key makes that safe. A payment a person started is never charged
    again in the background: the schedule's payment sweep resolves it (charges.resolve)."""
    stale = ctx.session.exec(select(Payment.id).where(
        Payment.status == "pending", Payment.purpose.in_(charges.ENGINE_PURPOSES),
        Payment.created_at < ctx.now - STALE_CHARGE_AFTER).order_by(Payment.id).limit(limit)).all()
    ctx.result.payment_ids.extend(pid for pid in stale if pid not in ctx.result.payment_ids)


# -- phases: each returns (the due subscriptions' query, what to do with one) -----------------

def _start_future(ctx):
    return select(Subscription).where(Subscription.status == "future",
                                      Subscription.start_date <= ctx.today), _start_one


def _start_one(ctx: _Context, sub: Subscription) -> None:
    if sub.trial_end is not None:
        state_machine.transition(ctx.session, sub, "start", "trial", now=ctx.now,
                                 trial_start=sub.start_date, current_term_start=sub.start_date,
                                 current_term_end=sub.trial_end, next_billing_date=sub.trial_end)
        return
    state_machine.transition(ctx.session, sub, "start", "live", now=ctx.now,
                             guard={"start_date": sub.start_date})
    _bill_term(ctx, sub, billing.Term(sub.start_date, "first_term", include_setup_fee=True),
               purpose="start")


def _end_trials(ctx):
    return select(Subscription).where(Subscription.status == "trial",
                                      Subscription.trial_end <= ctx.today,
                                      Subscription.awaiting_payment_id.is_(None)), _end_trial


def _end_trial(ctx: _Context, sub: Subscription) -> None:
    if _charges_automatically(sub):
        # The charge decides: success -> live, failure -> expired (payment_effects).
        _bill_term(ctx, sub, billing.Term(sub.trial_end, "first_term", include_setup_fee=True),
                   purpose="trial_end")
        return
    state_machine.transition(ctx.session, sub, "trial_converted", "live", now=ctx.now)
    _bill_term(ctx, sub, billing.Term(sub.trial_end, "first_term", include_setup_fee=True),
               purpose="trial_end")


def _pause(ctx):
    return select(Subscription).where(Subscription.status == "live",
                                      Subscription.pause_on <= ctx.today), _pause_one


def _pause_one(ctx: _Context, sub: Subscription) -> None:
    state_machine.transition(ctx.session, sub, "pause", "paused", now=ctx.now, pause_on=None,
                             guard={"pause_on": sub.pause_on}, next_billing_date=sub.resume_on)
    _notice(ctx, sub, "subscription_paused", f"{sub.number} is paused")


def _resume(ctx):
    return select(Subscription).where(Subscription.status == "paused",
                                      Subscription.resume_on <= ctx.today), _resume_one


def _resume_one(ctx: _Context, sub: Subscription) -> None:
    start = sub.resume_on
    state_machine.transition(ctx.session, sub, "resume", "live", now=ctx.now, resume_on=None,
                             guard={"resume_on": start}, anchor_day=start.day)
    _bill_term(ctx, sub, billing.Term(start, "renewal"), purpose="resume")


def _end_non_renewing(ctx):
    return select(Subscription).where(Subscription.status == "non_renewing",
                                      Subscription.current_term_end <= ctx.today), _cancel_at_end


def _cancel_at_end(ctx: _Context, sub: Subscription) -> None:
    state_machine.transition(ctx.session, sub, "term_end_cancel", "cancelled", now=ctx.now,
                             cancelled_on=sub.current_term_end, next_billing_date=None)
    customer = ctx.session.get(Customer, sub.customer_id)
    notifications.notify_org(ctx.session, event=notifications.SUBSCRIPTION_CANCELLED,
                             title=f"{sub.number} cancelled at the end of its term",
                             body=f"{customer.display_name}'s scheduled cancellation took effect.",
                             now=ctx.now, customer_id=sub.customer_id)


def _renew(ctx):
    return select(Subscription).where(Subscription.status == "live",
                                      Subscription.next_billing_date <= ctx.today,
                                      Subscription.awaiting_payment_id.is_(None)), _renew_one


def _renew_one(ctx: _Context, sub: Subscription) -> None:
    plan = ctx.session.get(Plan, sub.plan_id)
    due = sub.next_billing_date
    if plan.billing_cycles is not None and sub.cycles_billed >= plan.billing_cycles:
        state_machine.transition(ctx.session, sub, "cycles_complete", "expired", now=ctx.now,
                                 guard={"next_billing_date": due}, expired_reason="term_end",
                                 next_billing_date=None)
        _notice(ctx, sub, "subscription_expired", f"{sub.number} has completed its term")
        return
    state_machine.transition(ctx.session, sub, "renew", "live", now=ctx.now,
                             guard={"next_billing_date": due})
    _apply_scheduled_changes(ctx, sub, due)
    _bill_term(ctx, sub, billing.Term(due, "renewal"), purpose="renewal")


def _renew_in_bulk(ctx: _Context, subs: list[Subscription]) -> list[Subscription]:
    """Renew the plain ones set-based; returns those left for the per-subscription path."""
    try:
        with ctx.session.begin_nested():
            done = renewals.renew(ctx.session, subs, today=ctx.today, now=ctx.now,
                                  tax_bp=ctx.org.tax_rate_bp, org=ctx.org,
                                  invoice_due_days=INVOICE_DUE_DAYS)
    except (renewals.StaleBatch, IntegrityError):
        ctx.session.expire_all()
        return subs  # someone else moved one of them: take each on its own
    ctx.result.processed += len(done.renewed)
    ctx.result.payment_ids.extend(done.payment_ids)
    return done.leftovers


def _retry_dunning(ctx):
    return select(Subscription).where(Subscription.status == "dunning",
                                      Subscription.next_retry_on <= ctx.today,
                                      Subscription.awaiting_payment_id.is_(None)), _retry_one


def _retry_one(ctx: _Context, sub: Subscription) -> None:
    open_invoices = ctx.session.exec(select(Invoice).where(
        Invoice.subscription_id == sub.id, Invoice.status == "open")
        .order_by(Invoice.issue_date, Invoice.id)).all()
    amount = sum(balance_due(i) for i in open_invoices)
    if amount <= 0:
        # Settled meanwhile (a credit, an offline payment, a void): nothing is owed any more.
        state_machine.transition(ctx.session, sub, "payment_succeeded", "live", now=ctx.now,
                                 dunning_attempts=0, next_retry_on=None, dunning_started_on=None,
                                 next_billing_date=sub.next_billing_date or sub.current_term_end)
        return
    if sub.payment_method_id is None:
        # No card to retry (the customer removed it): a failed retry, so the schedule still
        # reaches its final action; the email's link lets them add a card and pay.
        payment_effects.retry_without_card(ctx.session, sub=sub,
                                           invoice_ids=[i.id for i in open_invoices], now=ctx.now)
        return
    attempt = sub.dunning_attempts + 2  # attempt 1 was the renewal charge itself
    payment = charges.start(
        ctx.session, customer_id=sub.customer_id, amount=amount, currency=sub.currency,
        payment_method_id=sub.payment_method_id, now=ctx.now, purpose="dunning_retry",
        idempotency_key=f"engine-{open_invoices[0].id}-{attempt}", subscription_id=sub.id,
        invoice_ids=[i.id for i in open_invoices], attempt=attempt)
    _await(ctx, sub, payment.id)


# -- shared steps -------------------------------------------------------------------------

def _charges_automatically(sub: Subscription) -> bool:
    return sub.autocharge and sub.payment_method_id is not None


def _bill_term(ctx: _Context, sub: Subscription, term: billing.Term, *, purpose: str) -> None:
    """Invoice the term, move the subscription's dates on, and charge or email the invoice."""
    invoice_draft = billing.draft(ctx.session, sub, term, tax_bp=ctx.org.tax_rate_bp)
    automatic = _charges_automatically(sub)
    due_date = ctx.today if automatic else ctx.today + timedelta(days=INVOICE_DUE_DAYS)
    invoice = billing.issue(ctx.session, sub, invoice_draft, issue_date=ctx.today,
                            due_date=due_date, now=ctx.now)
    sub.current_term_start, sub.current_term_end = invoice_draft.period.start, invoice_draft.period.end
    sub.next_billing_date = invoice_draft.period.end
    sub.cycles_billed += 1
    if balance_due(invoice) <= 0:
        return  # paid by unused credit
    if automatic:
        payment = charges.start(
            ctx.session, customer_id=sub.customer_id, amount=balance_due(invoice),
            currency=sub.currency, payment_method_id=sub.payment_method_id, now=ctx.now,
            purpose=purpose, idempotency_key=f"engine-{invoice.id}-1", subscription_id=sub.id,
            invoice_ids=[invoice.id], attempt=1)
        _await(ctx, sub, payment.id)
    else:
        customer = ctx.session.get(Customer, sub.customer_id)
        outbox.enqueue(ctx.session, template="invoice_issued", to=customer.email,
                       subject=f"Invoice {invoice.number} from {ctx.org.name}",
                       customer_id=customer.id,
                       context={"name": customer.display_name, "number": invoice.number,
                                "amount": format_money(invoice.total, invoice.currency,
                                                       ctx.org.locale),
                                "due_date": invoice.due_date.isoformat(),
                                "path": f"/invoices/{invoice.id}"}, now=ctx.now)


def _await(ctx: _Context, sub: Subscription, payment_id: int) -> None:
    sub.awaiting_payment_id = payment_id
    ctx.result.payment_ids.append(payment_id)


def _apply_scheduled_changes(ctx: _Context, sub: Subscription, on: date) -> None:
    """Changes the customer scheduled for this renewal take effect before it is billed."""
    for change in ctx.session.exec(select(ScheduledChange).where(
            ScheduledChange.subscription_id == sub.id, ScheduledChange.effective_on <= on)):
        apply_change(ctx.session, sub, change.payload)
        ctx.session.delete(change)
    ctx.session.flush()


def apply_change(session: Session, sub: Subscription, payload: dict) -> None:
    """Set plan, addon quantities and coupons from a change payload (ids and numbers)."""
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
    for coupon_id in payload.get("add_coupon_ids", []):
        session.add(SubscriptionCoupon(subscription_id=sub.id, coupon_id=coupon_id,
                                       applied_at=sub.updated_at))


def _notice(ctx: _Context, sub: Subscription, event: str, title: str) -> None:
    notifications.notify_org(ctx.session, event=event, title=title,
                             body=f"Subscription {sub.number}.", now=ctx.now,
                             customer_id=sub.customer_id)


def _reminders(ctx: _Context, limit: int) -> None:
    """Trial-ending and upcoming-renewal emails, once each, on the preference's days."""
    plans = [("trial_ending", Subscription.status == "trial", Subscription.trial_end,
              ctx.prefs.reminder_trial_ending_days),
             ("renewal_upcoming", Subscription.status == "live", Subscription.next_billing_date,
              ctx.prefs.reminder_renewal_days)]
    for kind, condition, date_column, days in plans:
        if not days:
            continue
        target = ctx.today + timedelta(days=days)
        subs = ctx.session.exec(select(Subscription).where(condition, date_column == target)
                                .order_by(Subscription.id).limit(limit)).all()
        for sub in subs:
            inserted = ctx.session.execute(
                text("INSERT INTO reminder (subscription_id, kind, for_date, created_at) "
                     "VALUES (:sub, :kind, :on, :at) ON CONFLICT DO NOTHING"),
                {"sub": sub.id, "kind": kind, "on": target,
                 "at": ctx.now.astimezone(UTC).replace(tzinfo=None)})
            if inserted.rowcount != 1:
                continue
            _send_reminder(ctx, sub, kind, target)


def _send_reminder(ctx: _Context, sub: Subscription, kind: str, on: date) -> None:
    customer = ctx.session.get(Customer, sub.customer_id)
    subject = (f"Your trial of {sub.number} ends on {on.isoformat()}" if kind == "trial_ending"
               else f"{sub.number} renews on {on.isoformat()}")
    outbox.enqueue(ctx.session, template=kind, to=customer.email, subject=subject,
                   customer_id=customer.id,
                   context={"name": customer.display_name, "number": sub.number,
                            "on": on.isoformat(), "autocharge": _charges_automatically(sub),
                            "path": f"/subscriptions/{sub.id}"}, now=ctx.now)
