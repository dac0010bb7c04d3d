"""What a charge's outcome does: subscription states, dunning, receipts, the organization.

Called once per payment, by `charges.record`, in the transaction that records the outcome.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from webapp.models import (
    Customer,
    Invoice,
    Organization,
    Payment,
    PaymentMethod,
    Plan,
    Subscription,
    SubscriptionCoupon,
)
from webapp.services.billing import changes, fix_links, ledger, paid_terms
from webapp.services.billing import terms as billing
from webapp.services.core import (
    events,
    notifications,
    outbox,
    preferences,
    state_machine,
    wording,
)
from webapp.services.core.dates import Moment, today_in
from webapp.services.core.i18n import N_, _
from webapp.services.core.money import format_money

# Purposes whose failure sends a subscription into dunning (the engine's own charges).
DUNNING_ON_FAILURE = ("renewal", "resume", "start")


def apply(session: Session, *, payment: Payment, now: datetime) -> None:
    org = session.get(Organization, 1)
    at = Moment.at(now, org.timezone)
    sub = session.get(Subscription, payment.subscription_id) if payment.subscription_id else None
    if sub is not None and sub.awaiting_payment_id == payment.id:
        sub.awaiting_payment_id = None
    if payment.status == "succeeded" and payment.purpose in ("activation", "reactivation"):
        # Only a success does anything: a declined activation changes nothing.
        paid_terms.apply_paid_action(session, payment=payment, now=now)
    if payment.status == "succeeded":
        _succeeded(session, org, payment, sub, at)
    else:
        _failed(session, org, payment, sub, at)


def _money(org: Organization, amount: int, currency: str) -> str:
    return format_money(amount, currency, org.locale)


def _succeeded(session, org, payment, sub, at: Moment) -> None:
    customer = session.get(Customer, payment.customer_id)
    if sub is not None and payment.purpose == "trial_end" and sub.status == "trial":
        state_machine.transition(session, sub, "trial_converted", "live", now=at.now)
    if sub is not None and payment.purpose == "start" and sub.status == "future":
        state_machine.transition(session, sub, "start", "live", now=at.now)
    if payment.intent.get("save_card"):
        _keep_card(session, customer_id=customer.id, method_id=payment.payment_method_id)
        # A card saved while paying becomes the method of the subscriptions it paid for.
        paid_subs = list(session.exec(select(Invoice.subscription_id).where(
            Invoice.id.in_(payment.intent.get("invoice_ids", [])),
            Invoice.subscription_id.is_not(None)).distinct()))
        _use_for_subscriptions(
            session, customer_id=customer.id, method_id=payment.payment_method_id,
            subscription_ids=paid_subs, now=at.now)
    if payment.purpose == "change" and sub is not None:
        changes.apply_paid_change(session, payment=payment, at=at)
    if payment.intent.get("fix_link_id"):
        fix_links.mark_used(session, link_id=payment.intent["fix_link_id"], now=at.now)
    _back_to_live(session, payment, at.now)
    amount = _money(org, payment.amount, payment.currency)
    outbox.enqueue(session, template="payment_receipt", to=customer.email,
                   subject=_("Payment receipt %(number)s", number=payment.number),
                   customer_id=customer.id,
                   context={"name": customer.display_name, "amount": payment.amount,
                            "currency": payment.currency,
                            "number": payment.number, "paid_on": payment.paid_on.isoformat(),
                            "page": outbox.page("payments.receipt", payment_id=payment.id)},
                   now=at.now)
    notifications.notify_org(session, event=notifications.PAYMENT_RECEIVED,
                             title=N_("Payment received: %(amount)s from %(customer)s"),
                             body=N_("Receipt %(number)s."), now=at.now, customer_id=customer.id,
                             params={"amount": amount, "customer": customer.display_name,
                                     "number": payment.number})


def late_success(session: Session, *, payment: Payment, unused: int, now: datetime) -> None:
    """A success recorded after the portal had marked the payment failed (already allocated
    to whatever of its invoices was still open): `unused`, what nothing needed any more,
    becomes the customer's credit, and the admins are told. The action the payment was for
    (an activation, a change) is not applied late: the customer has since been told it
    was not done."""
    org = session.get(Organization, 1)
    customer = session.get(Customer, payment.customer_id)
    _back_to_live(session, payment, now)
    amount = _money(org, payment.amount, payment.currency)
    outbox.enqueue(session, template="payment_receipt", to=customer.email,
                   subject=_("Payment receipt %(number)s", number=payment.number),
                   customer_id=customer.id,
                   context={"name": customer.display_name, "amount": payment.amount,
                            "currency": payment.currency,
                            "number": payment.number, "paid_on": payment.paid_on.isoformat(),
                            "page": outbox.page("payments.receipt", payment_id=payment.id)}, now=now)
    body = N_("Payment %(number)s (%(amount)s) succeeded after it had been marked failed.")
    params = {"number": payment.number, "amount": amount, "customer": customer.display_name}
    if unused > 0:
        note = ledger.payment_to_credit(  # dated the day it was paid (recorded just now)
            session, payment=payment, amount=unused,
            at=Moment(now, payment.paid_on, org.timezone), reason=wording.write(wording.LATE_PAYMENT, number=payment.number))
        body = N_("Payment %(number)s (%(amount)s) succeeded after it had been marked failed. "
                  "%(unused)s of it was no longer due and is now unused credit on credit note "
                  "%(credit_note)s.")
        params |= {"unused": _money(org, unused, payment.currency), "credit_note": note.number}
    notifications.notify_org(session, event=notifications.LATE_PAYMENT,
                             title=N_("Late payment from %(customer)s: %(amount)s"),
                             body=body, now=now, customer_id=customer.id, params=params)


def _back_to_live(session: Session, payment: Payment, now: datetime) -> None:
    """Subscriptions in dunning or unpaid whose invoices are now all paid go back to live."""
    invoice_ids = payment.intent.get("invoice_ids", [])
    if not invoice_ids:
        return
    sub_ids = set(session.exec(select(Invoice.subscription_id).where(
        Invoice.id.in_(invoice_ids), Invoice.subscription_id.is_not(None))))
    for sub in session.exec(select(Subscription).where(
            Subscription.id.in_(sub_ids), Subscription.status.in_(("dunning", "unpaid")))):
        still_open = session.exec(select(Invoice.id).where(
            Invoice.subscription_id == sub.id, Invoice.status == "open")).first()
        if still_open is None:
            back_to_live(session, sub, paid_on=payment.paid_on, now=now)


def back_to_live(session: Session, sub: Subscription, *, paid_on: date, now: datetime) -> None:
    """A subscription in dunning or unpaid whose invoices are paid is live again.

    From dunning its term runs on. From unpaid (it was not renewed meanwhile) the paid
    invoice's term restarts on the payment date, anchored there, with no new invoice; only
    if that term had already ended in full is a new term invoiced, by the next tick, from the
    payment date. Skipped terms are never billed, and no day is paid twice.
    """
    values = {"dunning_attempts": 0, "next_retry_on": None, "dunning_started_on": None}
    if sub.status != "unpaid":
        values["next_billing_date"] = sub.next_billing_date or sub.current_term_end
    elif sub.current_term_end is not None and paid_on < sub.current_term_end:
        end = billing.term_end(session.get(Plan, sub.plan_id), paid_on, paid_on.day)
        values |= {"current_term_start": paid_on, "current_term_end": end,
                   "next_billing_date": end, "anchor_day": paid_on.day, "term_days": None}
    else:
        values |= {"next_billing_date": paid_on, "anchor_day": paid_on.day, "term_days": None}
    state_machine.transition(session, sub, "payment_succeeded", "live", now=now, **values)


def _failed(session, org, payment, sub, at: Moment) -> None:
    if sub is None:
        return
    customer = session.get(Customer, payment.customer_id)
    prefs = preferences.load(session)
    # English as stored (msgids), translated where a reader sees them.
    reason = payment.failure_reason or N_("The payment could not be completed.")
    if payment.purpose == "trial_end" and sub.status == "trial":
        for invoice in session.exec(select(Invoice).where(Invoice.id.in_(payment.intent.get("invoice_ids", [])))):
            invoice.status, invoice.voided_on = "void", at.today
            events.emit(session, "invoice.voided", events.public("invoice", invoice),
                        now=at.now, previous={"status": "open"})
        state_machine.transition(session, sub, "trial_charge_failed", "expired", now=at.now,
                                 expired_reason="trial_end", next_billing_date=None)
        _mail(session, customer, "trial_expired",
              _("Your trial of %(number)s has ended", number=sub.number),
              {"number": sub.number, "reason": reason,
               "page": outbox.page("subscriptions.detail", subscription_id=sub.id)}, at.now)
    elif payment.purpose == "start" and sub.status == "future":
        creation_failed(session, sub, payment=payment, reason=reason, at=at)
    elif payment.purpose in DUNNING_ON_FAILURE and sub.status == "live":
        days = prefs.dunning_retry_days or [1]
        state_machine.transition(session, sub, "renewal_failed", "dunning", now=at.now,
                                 dunning_attempts=0, dunning_started_on=at.today,
                                 next_retry_on=at.today + timedelta(days=days[0]))
        _payment_failed_mail(session, customer, sub, _invoice_ids(payment), reason,
                             sub.next_retry_on, at.now)
    elif payment.purpose == "dunning_retry" and sub.status == "dunning":
        _retry_failed(session, org, prefs, customer, sub, _invoice_ids(payment), reason, at.now)


def creation_failed(session: Session, sub: Subscription, *, payment: Payment, reason: str,
                    at: Moment) -> None:
    """A new subscription's first charge failed: it is not started (Zoho's "Creation failed").
    Its first invoice is voided and its term undone, the gateway's message is kept for the
    admin, who retries or discards it; no dunning, no mail to the customer."""
    for invoice in session.exec(select(Invoice).where(
            Invoice.id.in_(payment.intent.get("invoice_ids", [])), Invoice.status == "open")):
        invoice.status, invoice.voided_on = "void", at.today
        events.emit(session, "invoice.voided", events.public("invoice", invoice),
                    now=at.now, previous={"status": "open"})
    for link in session.exec(select(SubscriptionCoupon).where(
            SubscriptionCoupon.subscription_id == sub.id, SubscriptionCoupon.in_current_term)):
        link.terms_used, link.in_current_term = max(0, link.terms_used - 1), False
    state_machine.transition(session, sub, "creation_failed", "creation_failed", now=at.now,
                             creation_error=reason[:500], current_term_start=None,
                             current_term_end=None, next_billing_date=None, cycles_billed=0,
                             held_invoice_id=None, term_days=None)
    customer = session.get(Customer, sub.customer_id)
    notifications.notify_org(session, event="subscription_creation_failed",
                             title=N_("Creation failed: %(number)s for %(customer)s"),
                             body=N_("%(reason)s"), now=at.now, customer_id=customer.id,
                             params={"number": sub.number, "customer": customer.display_name,
                                     "reason": reason})


def retry_without_card(session: Session, *, sub: Subscription, invoice_ids: list[int],
                       now: datetime) -> None:
    """A dunning retry that found no card to charge counts as a failed one, so the schedule
    still runs to its final action; the email's link lets the customer add a card and pay."""
    org = session.get(Organization, 1)
    _retry_failed(session, org, preferences.load(session), session.get(Customer, sub.customer_id),
                  sub, invoice_ids, N_("There is no card on file to charge."), now)


def _invoice_ids(payment: Payment) -> list[int]:
    return payment.intent.get("invoice_ids", [])


# The organization's notification when dunning reaches its final action, per action.
FINAL_ACTION_TITLES = {"cancelled": N_("%(number)s is cancelled after failed payments"),
                       "unpaid": N_("%(number)s is unpaid after failed payments")}


def _retry_failed(session, org, prefs, customer, sub, invoice_ids, reason, now) -> None:
    days = prefs.dunning_retry_days or [1]
    attempts = sub.dunning_attempts + 1
    if attempts < len(days):
        # Counted from the attempt that ran (today), not from the first failure: after a
        # scheduler outage the retries keep their spacing instead of running back to back.
        next_retry = today_in(org.timezone, now) + timedelta(days=days[attempts] - days[attempts - 1])
        state_machine.transition(session, sub, "retry_failed", "dunning", now=now,
                                 dunning_attempts=attempts, next_retry_on=next_retry)
        _payment_failed_mail(session, customer, sub, invoice_ids, reason, next_retry, now)
        return
    final = prefs.dunning_final_action
    extra = {"cancelled_on": today_in(org.timezone, now), "next_billing_date": None} \
        if final == "cancelled" else {"next_billing_date": None}
    state_machine.transition(session, sub, "dunning_exhausted", final, now=now,
                             dunning_attempts=attempts, next_retry_on=None, **extra)
    _mail(session, customer, "dunning_final", now_subject(sub.number, final),
          {"number": sub.number, "state": final, "reason": reason,
           "page": outbox.page("subscriptions.detail", subscription_id=sub.id)}, now)
    notifications.notify_org(
        session, event=notifications.DUNNING_FINAL_ACTION,
        title=FINAL_ACTION_TITLES.get(final, N_("%(number)s is %(state)s after failed payments")),
        body=N_("%(customer)s: every retry failed (%(reason)s)."), now=now,
        customer_id=customer.id, params={"number": sub.number, "state": final,
                                         "customer": customer.display_name, "reason": reason})


def _payment_failed_mail(session, customer, sub, invoice_ids, reason, next_retry: date | None,
                         now) -> None:
    page = outbox.page("subscriptions.detail", subscription_id=sub.id)
    if invoice_ids:
        # A signed-in-free link that can pay this invoice and update this card, nothing else.
        page = fix_links.create(session, customer_id=customer.id, invoice_id=invoice_ids[0],
                                subscription_id=sub.id, now=now).page
    _mail(session, customer, "payment_failed",
          _("Payment failed for %(number)s", number=sub.number),
          {"number": sub.number, "reason": reason,
           "next_retry": next_retry.isoformat() if next_retry else "", "page": page}, now)


# A subscription's state after the final action, as a mail's subject (one sentence each).
NOW_SUBJECTS = {"unpaid": N_("Subscription %(number)s is now unpaid"),
                "cancelled": N_("Subscription %(number)s is now cancelled")}


def now_subject(number: str, state: str):
    if state in NOW_SUBJECTS:
        return _(NOW_SUBJECTS[state], number=number)
    return _("Subscription %(number)s is now %(state)s", number=number, state=state)


def _mail(session, customer, template, subject, context, now) -> None:
    outbox.enqueue(session, template=template, to=customer.email, subject=subject,
                   customer_id=customer.id, context={"name": customer.display_name, **context},
                   now=now)


def _keep_card(session: Session, *, customer_id: int, method_id: int) -> None:
    """A new card the customer asked to save is saved once a charge with it succeeded (it was
    single-use until then): the default if the customer has no other saved card."""
    method = session.get(PaymentMethod, method_id)
    if method is None or method.status != "single_use":
        return
    other = session.exec(select(PaymentMethod.id).where(
        PaymentMethod.customer_id == customer_id, PaymentMethod.status == "active",
        PaymentMethod.id != method.id)).first()
    method.status, method.is_default = "active", other is None


def _use_for_subscriptions(session: Session, *, customer_id: int, method_id: int,
                           subscription_ids: list[int], now: datetime) -> None:
    """A card saved while paying becomes the method of the subscriptions it paid for."""
    if not subscription_ids:
        return
    session.execute(update(Subscription).where(Subscription.customer_id == customer_id,
                                               Subscription.id.in_(subscription_ids))
                    .values(payment_method_id=method_id, updated_at=now)
                    .execution_options(synchronize_session="fetch"))
