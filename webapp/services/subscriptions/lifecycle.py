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

from sqlalchemy import false, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from webapp.models import (
    Customer,
    Invoice,
    Organization,
    Payment,
    Plan,
    Reminder,
    ScheduledChange,
    Subscription,
)
from webapp.services.billing import changes, charges, payment_effects, tax, terms
from webapp.services.billing.context import Context
from webapp.services.billing.ledger import balance_due
from webapp.services.core import (
    events,
    locales,
    notifications,
    outbox,
    preferences,
    state_machine,
)
from webapp.services.core.dates import Moment, format_day
from webapp.services.core.errors import IllegalTransition
from webapp.services.core.i18n import N_, _
from webapp.services.subscriptions import renewals

INVOICE_DUE_DAYS = 7  # invoices that are not charged automatically


@dataclass
class TickResult:
    processed: int = 0
    payment_ids: list[int] = field(default_factory=list)
    more: bool = False


@dataclass(frozen=True)
class _Context(Context):
    """The billing context (the tick's instant and the organization's date at it), and what
    the tick has done so far."""

    result: TickResult


def tick(session: Session, *, now: datetime, limit: int = 500, bulk: bool = True) -> TickResult:
    """Process up to `limit` due events per phase; `more` says another batch is waiting.

    With `bulk`, plain renewals are written set-based (`renewals`); `bulk=False` keeps every
    event on the per-subscription path (the tests compare the two).
    """
    org = session.get(Organization, 1)
    if org is None:
        return TickResult()
    ctx = _Context(session, Moment.at(now, org.timezone), org, preferences.load(session),
                   TickResult())
    for phase in (_start_future, _end_trials, _pause, _resume, _end_non_renewing, _overdue,
                  _settled_unpaid, _renew, _retry_dunning):
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
    _overdue_reminders(ctx, limit)
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
                                      Subscription.start_date <= ctx.today,
                                      Subscription.awaiting_payment_id.is_(None)), _start_one


def _start_one(ctx: _Context, sub: Subscription) -> None:
    if sub.trial_end is not None:
        state_machine.transition(ctx.session, sub, "start", "trial", now=ctx.now,
                                 trial_start=sub.start_date, current_term_start=sub.start_date,
                                 current_term_end=sub.trial_end, next_billing_date=sub.trial_end)
        return
    if _charges_automatically(sub):
        # A new subscription starts once its first charge succeeds (payment_effects); a
        # declined one is "creation failed", never in dunning (issue 30).
        _bill_term(ctx, sub, terms.Term(sub.start_date, "first_term", include_setup_fee=True),
                   purpose="start")
        if sub.awaiting_payment_id is None:  # nothing left to charge (unused credit paid it)
            state_machine.transition(ctx.session, sub, "start", "live", now=ctx.now)
        return
    state_machine.transition(ctx.session, sub, "start", "live", now=ctx.now,
                             guard={"start_date": sub.start_date})
    _bill_term(ctx, sub, terms.Term(sub.start_date, "first_term", include_setup_fee=True),
               purpose="start")


def start_now(session: Session, sub: Subscription, *, now: datetime) -> list[int]:
    """Start a new subscription due today at once, as the tick would (the back office's "start
    today" and its retry after a failed creation): the ids of the charges to run (the first
    is also the subscription's `awaiting_payment_id`)."""
    org = session.get(Organization, 1)
    ctx = _Context(session, Moment.at(now, org.timezone), org, preferences.load(session),
                   TickResult())
    _start_one(ctx, sub)
    return ctx.result.payment_ids


def _end_trials(ctx):
    return select(Subscription).where(Subscription.status == "trial",
                                      Subscription.trial_end <= ctx.today,
                                      Subscription.awaiting_payment_id.is_(None)), _end_trial


def _end_trial(ctx: _Context, sub: Subscription) -> None:
    # The first paid term starts when the trial ends, and billing is anchored there (an
    # extended trial ends on another day than the one the subscription started on).
    sub.anchor_day = sub.trial_end.day
    if _charges_automatically(sub):
        # The charge decides: success -> live, failure -> expired (payment_effects).
        _bill_term(ctx, sub, terms.Term(sub.trial_end, "first_term", include_setup_fee=True),
                   purpose="trial_end")
        return
    state_machine.transition(ctx.session, sub, "trial_converted", "live", now=ctx.now)
    _bill_term(ctx, sub, terms.Term(sub.trial_end, "first_term", include_setup_fee=True),
               purpose="trial_end")


def _pause(ctx):
    return select(Subscription).where(Subscription.status == "live",
                                      Subscription.pause_on <= ctx.today), _pause_one


def _pause_one(ctx: _Context, sub: Subscription) -> None:
    if sub.resume_on is None or sub.resume_on <= ctx.today:
        # A schedule whose resume date has passed (or never was) pauses nothing: whatever
        # left it there (an outage, imported or seeded rows), it is cleared, not obeyed.
        sub.pause_on = sub.resume_on = None
        sub.updated_at = ctx.now
        return
    # A mid-term pause keeps the unused paid days; they run from the resume date.
    state_machine.transition(ctx.session, sub, "pause", "paused", now=ctx.now, pause_on=None,
                             guard={"pause_on": sub.pause_on},
                             **terms.carried_term(sub, paused_on=ctx.today,
                                                  resume_on=sub.resume_on))
    _notice(ctx, sub, "subscription_paused", N_("%(number)s is paused"))


def _resume(ctx):
    return select(Subscription).where(Subscription.status == "paused",
                                      Subscription.resume_on <= ctx.today), _resume_one


def _resume_one(ctx: _Context, sub: Subscription) -> None:
    start = sub.resume_on
    if terms.carries_days(sub):
        # The days a mid-term pause carried run first, without an invoice; the next invoice
        # comes when they end, and billing is anchored there.
        state_machine.transition(ctx.session, sub, "resume", "live", now=ctx.now,
                                 resume_on=None, pause_on=None, guard={"resume_on": start},
                                 anchor_day=sub.current_term_end.day,
                                 next_billing_date=sub.current_term_end)
        return
    state_machine.transition(ctx.session, sub, "resume", "live", now=ctx.now, resume_on=None,
                             pause_on=None, guard={"resume_on": start}, anchor_day=start.day)
    _bill_term(ctx, sub, terms.Term(start, "renewal"), purpose="resume")


def _end_non_renewing(ctx):
    return select(Subscription).where(Subscription.status == "non_renewing",
                                      Subscription.current_term_end <= ctx.today), _cancel_at_end


def _cancel_at_end(ctx: _Context, sub: Subscription) -> None:
    state_machine.transition(ctx.session, sub, "term_end_cancel", "cancelled", now=ctx.now,
                             cancelled_on=sub.current_term_end, next_billing_date=None)
    customer = ctx.session.get(Customer, sub.customer_id)
    notifications.notify_org(ctx.session, event=notifications.SUBSCRIPTION_CANCELLED,
                             title=N_("%(number)s cancelled at the end of its term"),
                             body=N_("%(customer)s's scheduled cancellation took effect."),
                             now=ctx.now, customer_id=sub.customer_id,
                             params={"number": sub.number, "customer": customer.display_name})


def _overdue(ctx):
    """Live subscriptions with an invoice unpaid `overdue_action_days` past its due date, when
    the organization acts on them (an invoice a charge is paying right now is not overdue)."""
    days = ctx.prefs.overdue_action_days
    if ctx.prefs.overdue_action not in ("unpaid", "cancelled") or not days:
        return select(Subscription).where(false()), _overdue_one
    overdue = select(Invoice.id).where(
        Invoice.subscription_id == Subscription.id, Invoice.status == "open",
        Invoice.pending_payment_id.is_(None),
        Invoice.due_date <= ctx.today - timedelta(days=days)).correlate(Subscription)
    return select(Subscription).where(Subscription.status == "live",
                                      Subscription.awaiting_payment_id.is_(None),
                                      overdue.exists()), _overdue_one


# The organization's notification of the overdue action, per action.
OVERDUE_TITLES = {"unpaid": N_("%(number)s is unpaid: an invoice is %(days)s days overdue"),
                  "cancelled": N_("%(number)s is cancelled: an invoice is %(days)s days "
                                  "overdue")}


def _overdue_one(ctx: _Context, sub: Subscription) -> None:
    """The organization's overdue action, as dunning's final action: no more renewals."""
    action, days = ctx.prefs.overdue_action, ctx.prefs.overdue_action_days
    extra = {"cancelled_on": ctx.today} if action == "cancelled" else {}
    state_machine.transition(ctx.session, sub, "overdue", action, now=ctx.now,
                             next_billing_date=None, **extra)
    customer = ctx.session.get(Customer, sub.customer_id)
    outbox.enqueue(ctx.session, template="overdue_final", to=customer.email,
                   subject=payment_effects.now_subject(sub.number, action),
                   customer_id=customer.id,
                   context={"name": customer.display_name, "number": sub.number,
                            "state": action, "days": days, "comes_back": action == "unpaid",
                            "page": outbox.page("subscriptions.detail", subscription_id=sub.id)},
                   now=ctx.now)
    notifications.notify_org(
        ctx.session, event=notifications.DUNNING_FINAL_ACTION,
        title=OVERDUE_TITLES.get(action, N_("%(number)s is %(state)s: an invoice is %(days)s "
                                           "days overdue")),
        body=N_("%(customer)s has not paid an invoice %(days)s days past its due date."),
        now=ctx.now, customer_id=customer.id,
        params={"number": sub.number, "state": action, "days": days,
                "customer": customer.display_name})


def _settled_unpaid(ctx):
    """Unpaid subscriptions whose invoices were settled another way than by a payment (a
    credit note), their held invoice paid (a voided one is not): live again, as on payment."""
    open_invoice = select(Invoice.id).where(Invoice.subscription_id == Subscription.id,
                                            Invoice.status == "open").correlate(Subscription)
    paid = select(Invoice.id).where(Invoice.id == Subscription.held_invoice_id,
                                    Invoice.status == "paid").correlate(Subscription)
    return select(Subscription).where(Subscription.status == "unpaid", ~open_invoice.exists(),
                                      paid.exists()), _settled_unpaid_one


def _settled_unpaid_one(ctx: _Context, sub: Subscription) -> None:
    payment_effects.back_to_live(ctx.session, sub, paid_on=ctx.today, now=ctx.now)


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
        _notice(ctx, sub, "subscription_expired", N_("%(number)s has completed its term"))
        return
    state_machine.transition(ctx.session, sub, "renew", "live", now=ctx.now,
                             guard={"next_billing_date": due})
    _apply_scheduled_changes(ctx, sub, due)
    _bill_term(ctx, sub, terms.Term(due, "renewal"), purpose="renewal")


def _renew_in_bulk(ctx: _Context, subs: list[Subscription]) -> list[Subscription]:
    """Renew the plain ones set-based; returns those left for the per-subscription path."""
    try:
        with ctx.session.begin_nested():
            done = renewals.renew(ctx.session, subs, at=ctx.at, org=ctx.org,
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


def _bill_term(ctx: _Context, sub: Subscription, term: terms.Term, *, purpose: str) -> None:
    """Invoice the term, move the subscription's dates on, and charge or email the invoice."""
    invoice_draft = terms.draft(ctx.session, sub, term,
                                tax=tax.tax_for(ctx.session, sub.customer_id))
    automatic = _charges_automatically(sub)
    due_date = ctx.today if automatic else ctx.today + timedelta(days=INVOICE_DUE_DAYS)
    invoice = terms.issue(ctx.session, sub, invoice_draft, issue_date=ctx.today,
                          due_date=due_date, now=ctx.now)
    sub.current_term_start, sub.current_term_end = invoice_draft.period.start, invoice_draft.period.end
    sub.next_billing_date, sub.term_days = invoice_draft.period.end, None
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
                       subject=_("Invoice %(number)s from %(org)s", number=invoice.number,
                                 org=ctx.org.name),
                       customer_id=customer.id,
                       context={"name": customer.display_name, "number": invoice.number,
                                "amount": invoice.total, "currency": invoice.currency,
                                "due_date": invoice.due_date.isoformat(),
                                "page": outbox.page("invoices.detail", invoice_id=invoice.id)}, now=ctx.now)


def _await(ctx: _Context, sub: Subscription, payment_id: int) -> None:
    sub.awaiting_payment_id = payment_id
    ctx.result.payment_ids.append(payment_id)


def _apply_scheduled_changes(ctx: _Context, sub: Subscription, on: date) -> None:
    """Changes the customer scheduled for this renewal take effect before it is billed."""
    for change in ctx.session.exec(select(ScheduledChange).where(
            ScheduledChange.subscription_id == sub.id, ScheduledChange.effective_on <= on)):
        changes.apply_change(ctx.session, sub, change.payload, now=ctx.now)
        ctx.session.delete(change)
    ctx.session.flush()


def _notice(ctx: _Context, sub: Subscription, event: str, title: str) -> None:
    """Tell the organization; `title` is a message id naming the subscription's %(number)s."""
    notifications.notify_org(ctx.session, event=event, title=title,
                             body=N_("Subscription %(number)s."), now=ctx.now,
                             customer_id=sub.customer_id, params={"number": sub.number})


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


def _overdue_reminders(ctx: _Context, limit: int) -> None:
    """Open invoices nobody is charging, reminded on the preference's days past due, each
    stage once. After a quiet spell only the latest stage reached is sent. Invoices of a
    subscription in dunning are left to dunning's own emails."""
    stages = sorted(set(ctx.prefs.overdue_reminder_days or ()), reverse=True)
    in_dunning = select(Subscription.id).where(Subscription.id == Invoice.subscription_id,
                                               Subscription.status == "dunning")
    later = None
    for days in stages:
        kind = f"invoice_overdue_{days}"
        sent = select(Reminder.id).where(Reminder.invoice_id == Invoice.id, Reminder.kind == kind)
        window = [Invoice.due_date <= ctx.today - timedelta(days=days)]
        if later is not None:
            window.append(Invoice.due_date > ctx.today - timedelta(days=later))
        invoices = ctx.session.exec(select(Invoice).where(
            Invoice.status == "open", Invoice.pending_payment_id.is_(None), *window,
            ~sent.exists(), ~in_dunning.exists()).order_by(Invoice.id).limit(limit)).all()
        later = days
        for invoice in invoices:
            inserted = ctx.session.execute(
                text("INSERT INTO reminder (invoice_id, kind, for_date, created_at) "
                     "VALUES (:invoice, :kind, :on, :at) ON CONFLICT DO NOTHING"),
                {"invoice": invoice.id, "kind": kind, "on": invoice.due_date,
                 "at": ctx.now.astimezone(UTC).replace(tzinfo=None)})
            if inserted.rowcount == 1:
                _send_overdue_reminder(ctx, invoice, (ctx.today - invoice.due_date).days)


def _send_overdue_reminder(ctx: _Context, invoice: Invoice, days: int) -> None:
    events.emit(ctx.session, "invoice.overdue", events.public("invoice", invoice,
                                                              days_overdue=days), now=ctx.now)
    customer = ctx.session.get(Customer, invoice.customer_id)
    outbox.enqueue(ctx.session, template="invoice_overdue", to=customer.email,
                   subject=_("Invoice %(number)s is overdue", number=invoice.number),
                   customer_id=customer.id,
                   context={"name": customer.display_name, "number": invoice.number,
                            "amount": balance_due(invoice), "currency": invoice.currency,
                            "due_date": invoice.due_date.isoformat(), "days": days,
                            "page": outbox.page("invoices.detail", invoice_id=invoice.id)}, now=ctx.now)


def _send_reminder(ctx: _Context, sub: Subscription, kind: str, on: date) -> None:
    customer = ctx.session.get(Customer, sub.customer_id)
    # The subject is stored text: written in the locale the customer reads the mail in.
    day = format_day(on, locales.for_customer(customer.locale, ctx.org.locale))
    subject = (_("Your trial of %(number)s ends on %(day)s", number=sub.number, day=day)
               if kind == "trial_ending"
               else _("%(number)s renews on %(day)s", number=sub.number, day=day))
    outbox.enqueue(ctx.session, template=kind, to=customer.email, subject=subject,
                   customer_id=customer.id,
                   context={"name": customer.display_name, "number": sub.number,
                            "on": on.isoformat(), "autocharge": _charges_automatically(sub),
                            "page": outbox.page("subscriptions.detail", subscription_id=sub.id)}, now=ctx.now)
