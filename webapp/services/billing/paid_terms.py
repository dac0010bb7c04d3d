"""The term an activation or reactivation starts, and what its paid charge does.

`begin_term` moves the subscription live and issues the term's invoice exactly as drafted;
`confirm_term` tells the customer and the organization. The customer's action
(subscriptions.actions.terms) calls them when nothing is charged; when the saved card is
charged, the charge's outcome (payment_effects -> `apply_paid_action`) calls them with the
invoice the payment's intent carries.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session

from webapp.models import Invoice, Payment, PaymentMethod, Subscription
from webapp.services.billing import ledger
from webapp.services.billing import terms as billing
from webapp.services.billing.context import (
    ACTIVATED,
    PAYMENT_NOT_APPLIED,
    REACTIVATED,
    Context,
    confirm,
    context,
)
from webapp.services.billing.pricing import Line, Priced
from webapp.services.core import notifications, state_machine
from webapp.services.core.dates import dated
from webapp.services.core.i18n import N_, _
from webapp.services.core.money import Amount

ACTIVATE, REACTIVATE = "activate", "reactivate"


PURPOSES = {ACTIVATE: "activation", REACTIVATE: "reactivation"}
# What the organization is told when a charge's action could not be applied, per action.
NOT_APPLIED = {
    ACTIVATE: N_("%(subscription)s was %(status)s when its activation charge succeeded; "
                 "refund or apply the payment by hand."),
    REACTIVATE: N_("%(subscription)s was %(status)s when its reactivation charge succeeded; "
                   "refund or apply the payment by hand.")}


def apply_paid_action(session: Session, *, payment: Payment, now: datetime) -> None:
    """An activation or reactivation charge succeeded: issue its invoice, pay it, go live."""
    ctx = context(session, now)
    sub = session.get(Subscription, payment.subscription_id)
    event = payment.intent["event"]
    if not state_machine.allowed(sub.status, event):
        # Nothing else moves a subscription while its charge is awaited; if something did,
        # a person must decide about the money rather than the engine guessing.
        notifications.notify_org(
            session, event=PAYMENT_NOT_APPLIED, now=now, customer_id=sub.customer_id,
            title=N_("Payment %(number)s was not applied"), body=NOT_APPLIED[event],
            params={"number": payment.number, "subscription": sub.number,
                    "status": sub.status})
        return
    on = date.fromisoformat(payment.intent["today"])
    invoice = begin_term(ctx, sub, event, decode_draft(payment.intent["invoice"]), due_date=on,
                         key=payment.idempotency_key)
    ledger.allocate(session, payment=payment, invoices=[invoice], on=payment.paid_on,
                    now=ctx.now)
    method = session.get(PaymentMethod, payment.payment_method_id)
    confirm_term(ctx, sub, event, invoice, paid_with=f"{method.brand} •••• {method.last4}")


def begin_term(ctx: Context, sub: Subscription, event: str, invoice_draft: billing.InvoiceDraft,
               *, due_date: date, key: str) -> Invoice:
    start, end = invoice_draft.period.start, invoice_draft.period.end
    values = {"current_term_start": start, "current_term_end": end, "next_billing_date": end,
              "anchor_day": start.day, "term_days": None}
    if event == ACTIVATE:
        values |= {"trial_end": start, "cycles_billed": sub.cycles_billed + 1}
    else:
        # A new life: billing cycles count again and the old ending is forgotten.
        values |= {"cycles_billed": 1, "expired_reason": None, "cancelled_on": None,
                   "cancel_reason": "", "status_before_cancel": None, "pause_on": None,
                   "resume_on": None, "dunning_attempts": 0, "dunning_started_on": None,
                   "next_retry_on": None}
    state_machine.transition(ctx.session, sub, event, "live", now=ctx.now, **values)
    return billing.issue(ctx.session, sub, invoice_draft, issue_date=start, due_date=due_date,
                         now=ctx.now, idempotency_key=key)


def confirm_term(ctx: Context, sub: Subscription, event: str, invoice: Invoice, *,
                 paid_with: str | None) -> None:
    # Values, not text: the customer's mail writes them in their locale, the organization's
    # notification in its own.
    amount = Amount(invoice.total, invoice.currency)
    if paid_with:
        paid = dated(N_("Invoice %(number)s for %(amount)s was paid with %(method)s."),
                     number=invoice.number, amount=amount, method=paid_with)
    elif invoice.status == "paid":
        paid = dated(N_("Invoice %(number)s for %(amount)s was paid with your unused credit."),
                     number=invoice.number, amount=amount)
    else:
        paid = dated(N_("Invoice %(number)s for %(amount)s is due on %(due)s."),
                     number=invoice.number, amount=amount, due=invoice.due_date)
    term = dated(N_("The term runs from %(start)s to %(end)s."), start=invoice.period_start,
                 end=invoice.period_end)
    if event == ACTIVATE:
        confirm(ctx, sub, event=ACTIVATED, subject=_("%(number)s is now live", number=sub.number),
                message=dated(N_("Your trial of %(number)s has ended and the subscription is now "
                                 "live."), number=sub.number),
                details=[term, paid], org_title=N_("%(number)s activated from its trial"),
                org_body=N_("ended the trial early. %(paid)s"),
                org_params={"number": sub.number, "paid": paid})
    else:
        confirm(ctx, sub, event=REACTIVATED,
                subject=_("%(number)s is live again", number=sub.number),
                message=dated(N_("%(number)s has been reactivated."), number=sub.number),
                details=[term, paid],
                org_title=N_("%(number)s reactivated"), org_body=N_("reactivated it. %(paid)s"),
                org_params={"number": sub.number, "paid": paid})


def encode_draft(invoice_draft: billing.InvoiceDraft) -> dict:
    priced = invoice_draft.priced
    return {"kind": invoice_draft.kind,
            "lines": [[x.kind, x.description, x.quantity, x.unit_amount, x.amount, x.tax_amount]
                      for x in priced.lines],
            "subtotal": priced.subtotal, "tax_total": priced.tax_total, "total": priced.total,
            "tax_rate_bp": priced.tax_rate_bp, "tax_label": priced.tax_label,
            "tax_note": priced.tax_note,
            "period": [invoice_draft.period.start.isoformat(), invoice_draft.period.end.isoformat()],
            "coupon_ids": list(invoice_draft.coupon_ids)}


def decode_draft(data: dict) -> billing.InvoiceDraft:
    priced = Priced(tuple(Line(*line) for line in data["lines"]), data["subtotal"],
                    data["tax_total"], data["total"], data.get("tax_rate_bp"),
                    data.get("tax_label", ""), data.get("tax_note", ""))
    start, end = (date.fromisoformat(d) for d in data["period"])
    return billing.InvoiceDraft(data["kind"], priced, ledger.Period(start, end),
                                tuple(data["coupon_ids"]))
