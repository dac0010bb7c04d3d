"""Demo billing data: a catalog, Jane with a subscription in every state, Omar's smaller history,
Camille's first months.

Everything is written through the ledger services, so the demo obeys the same identities as
real data (an invoice total is the sum of its lines; amount_paid is the sum of allocations).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, select

from webapp.models import (
    Addon,
    AddonPrice,
    ContactPerson,
    Coupon,
    CouponAmount,
    Customer,
    Invoice,
    Payment,
    PaymentMethod,
    Plan,
    PlanPrice,
    Subscription,
    SubscriptionAddon,
    SubscriptionCoupon,
)
from webapp.services.billing import ledger
from webapp.services.billing import terms as billing
from webapp.services.billing.catalog import subscription_items
from webapp.services.billing.gateway import CardToken
from webapp.services.billing.pricing import Charge, price
from webapp.services.billing.tax import Tax
from webapp.services.core import numbering, wording
from webapp.services.core.dates import add_interval

PLANS = [
    # code, name, unit, trial days, cycles, {currency: (amount, setup fee)}
    ("basic-monthly", "Basic", "month", 14, None, {"USD": (1900, 0), "EUR": (1700, 0)}),
    ("pro-monthly", "Pro", "month", 14, None, {"USD": (4900, 2500), "EUR": (4500, 2000)}),
    ("pro-yearly", "Pro (yearly)", "year", 30, None, {"USD": (49000, 2500), "EUR": (45000, 2000)}),
    ("enterprise-monthly", "Enterprise", "month", 0, None, {"USD": (19900, 0), "EUR": (18500, 0)}),
    ("event-pass", "Event Pass (3 months)", "month", 0, 3, {"USD": (2900, 0), "EUR": (2700, 0)}),
]
ADDONS = [
    ("extra-seat", "Extra seat", "recurring", "seat", {"USD": 800, "EUR": 700}),
    ("priority-support", "Priority support", "recurring", "month", {"USD": 1500, "EUR": 1400}),
    ("onboarding", "Onboarding workshop", "one_time", "session", {"USD": 9900, "EUR": 8900}),
]
COUPONS = [
    ("WELCOME20", "Welcome 20% off", "percentage", 2000, "n_terms", 3, {}),
    ("SAVE10", "10 off once", "fixed", None, "once", None, {"USD": 1000, "EUR": 1000}),
    ("LOYAL15", "Loyalty 15% off", "percentage", 1500, "forever", None, {}),
]


def seed_catalog(session: Session, *, now: datetime) -> None:
    """Plans, addons and coupons, created once."""
    if session.exec(select(Plan)).first() is not None:
        return
    for code, name, unit, trial, cycles, prices in PLANS:
        plan = Plan(code=code, name=name, interval_unit=unit, trial_days=trial,
                    billing_cycles=cycles, created_at=now,
                    description=f"{name} plan, billed every {unit}.")
        session.add(plan)
        session.flush()
        session.add_all(PlanPrice(plan_id=plan.id, currency=c, amount=a, setup_fee=f)
                        for c, (a, f) in prices.items())
    for code, name, kind, unit_name, prices in ADDONS:
        addon = Addon(code=code, name=name, kind=kind, unit_name=unit_name, created_at=now)
        session.add(addon)
        session.flush()
        session.add_all(AddonPrice(addon_id=addon.id, currency=c, unit_amount=a)
                        for c, a in prices.items())
    for code, name, kind, bp, duration, terms, amounts in COUPONS:
        coupon = Coupon(code=code, name=name, discount_type=kind, percent_bp=bp,
                        duration=duration, duration_terms=terms, created_at=now)
        session.add(coupon)
        session.flush()
        session.add_all(CouponAmount(coupon_id=coupon.id, currency=c, amount=a)
                        for c, a in amounts.items())
    session.flush()


@dataclass
class _Builder:
    session: Session
    customer: Customer
    today: date
    now: datetime
    tax: Tax  # the customer's, as billing.tax.tax_for decides it
    card: PaymentMethod | None

    def plan(self, code: str) -> Plan:
        return self.session.exec(select(Plan).where(Plan.code == code)).one()

    def subscription(self, plan_code: str, status: str, start: date, **fields) -> Subscription:
        plan = self.plan(plan_code)
        sub = Subscription(number=numbering.take_one(self.session, "subscription"),
                           customer_id=self.customer.id, plan_id=plan.id,
                           currency=self.customer.currency, status=status, start_date=start,
                           anchor_day=start.day, created_at=self.now, updated_at=self.now,
                           **fields)
        self.session.add(sub)
        self.session.flush()
        return sub

    def addon(self, sub: Subscription, code: str, quantity: int) -> None:
        addon = self.session.exec(select(Addon).where(Addon.code == code)).one()
        self.session.add(SubscriptionAddon(subscription_id=sub.id, addon_id=addon.id,
                                           quantity=quantity))

    def coupon(self, sub: Subscription, code: str) -> SubscriptionCoupon:
        coupon = self.session.exec(select(Coupon).where(Coupon.code == code)).one()
        coupon.redemptions += 1
        link = SubscriptionCoupon(subscription_id=sub.id, coupon_id=coupon.id,
                                  applied_at=self.now)
        self.session.add(link)
        self.session.flush()
        return link

    def bill_terms(self, sub: Subscription, terms: int, *, paid: int | None = None,
                   due_days: int = 0) -> list[Invoice]:
        """Invoice `terms` consecutive terms from the start; the first `paid` are paid by card."""
        plan = self.plan_of(sub)
        invoices, start = [], sub.start_date
        for index in range(terms):
            end = add_interval(start, plan.interval_unit, plan.interval_count, sub.anchor_day)
            items = subscription_items(self.session, [sub])[sub.id]
            charges = items.recurring_charges()
            if index == 0 and items.plan_price and items.plan_price.setup_fee:
                charges.append(Charge("setup_fee", wording.SETUP_FEE, 1, items.plan_price.setup_fee,
                                      discountable=False))
            active = [c for c in items.coupons if c.active]
            priced = price(charges, [c.discount() for c in active], tax=self.tax)
            invoice = ledger.issue_invoice(
                self.session, customer_id=sub.customer_id, currency=sub.currency,
                kind="first_term" if index == 0 else "renewal", priced=priced,
                issue_date=start, due_date=start + timedelta(days=due_days), now=self.now,
                subscription_id=sub.id, period=ledger.Period(start, end))
            for line in active:
                self._use_coupon_term(sub, line.coupon.id)
            invoices.append(invoice)
            if paid is None or index < paid:
                self.pay([invoice], on=start)
            sub.current_term_start, sub.current_term_end = start, end
            sub.next_billing_date = end
            sub.cycles_billed = index + 1
            start = end
        return invoices

    def plan_of(self, sub: Subscription) -> Plan:
        return self.session.get(Plan, sub.plan_id)

    def _use_coupon_term(self, sub: Subscription, coupon_id: int) -> None:
        link = self.session.exec(select(SubscriptionCoupon).where(
            SubscriptionCoupon.subscription_id == sub.id,
            SubscriptionCoupon.coupon_id == coupon_id)).one()
        link.terms_used += 1

    def pay(self, invoices: list[Invoice], *, on: date, amount: int | None = None,
            method: str = "card", reference: str = "") -> Payment:
        total = sum(ledger.balance_due(i) for i in invoices) if amount is None else amount
        return ledger.record_payment(
            self.session, customer_id=self.customer.id, amount=total,
            currency=self.customer.currency, invoices=invoices, paid_on=on, now=self.now,
            method=method, reference=reference,
            payment_method_id=self.card.id if method == "card" and self.card else None,
            idempotency_key=f"demo-{invoices[0].number}-{on.isoformat()}",
            gateway_reference=f"ch_demo_{invoices[0].number}" if method == "card" else None)


def save_card(session: Session, *, customer: Customer, token: CardToken,
              now: datetime) -> PaymentMethod:
    method = PaymentMethod(customer_id=customer.id, gateway_token=token.token, brand=token.brand,
                           last4=token.last4, exp_month=token.exp_month, exp_year=token.exp_year,
                           is_default=True, created_at=now)
    session.add(method)
    session.flush()
    return method


def seed_jane(session: Session, *, customer: Customer, card: PaymentMethod, today: date,
              now: datetime, tax: Tax) -> None:
    """Jane: a subscription in every state and every kind of invoice."""
    b = _Builder(session, customer, today, now, tax, card)
    session.add_all([
        ContactPerson(customer_id=customer.id, name="Sam Lee", email="sam.lee@example.com",
                      role="billing", created_at=now),
        ContactPerson(customer_id=customer.id, name="Priya Natarajan",
                      email="priya@example.com", role="technical", created_at=now),
    ])
    d = lambda days: today + timedelta(days=days)  # noqa: E731

    # cancelled two months ago with credit for the unused time: as nothing was open then, the
    # credit paid part of the next invoice issued after it (the Pro plan's renewal below)
    cancelled = b.subscription("basic-monthly", "live", d(-150))
    b.bill_terms(cancelled, 3)
    cancelled.status, cancelled.cancelled_on = "cancelled", d(-75)
    cancelled.cancel_reason = "Moved to the Pro plan"
    cancelled.next_billing_date, cancelled.held_invoice_id = None, None
    ledger.create_credit_note(session, customer_id=customer.id, currency=customer.currency,
                              total=1140,  # 18 of the term's 30 days at 1900
                              reason=wording.write(wording.UNUSED_ON, number=cancelled.number,
                                                   days=18, term=30),
                              issue_date=d(-75), now=now, subscription_id=cancelled.id)

    live = b.subscription("pro-monthly", "live", d(-100), autocharge=True,
                          payment_method_id=card.id)
    b.addon(live, "extra-seat", 3)
    b.coupon(live, "WELCOME20")
    b.bill_terms(live, 4)

    b.subscription("basic-monthly", "trial", d(-5), trial_start=d(-5), trial_end=d(9),
                   current_term_start=d(-5), current_term_end=d(9), next_billing_date=d(9),
                   autocharge=True, payment_method_id=card.id)
    b.subscription("pro-yearly", "future", d(10), next_billing_date=d(10))

    non_renewing = b.subscription("basic-monthly", "live", d(-48))
    b.bill_terms(non_renewing, 2)
    non_renewing.status, non_renewing.status_before_cancel = "non_renewing", "live"
    non_renewing.next_billing_date = None

    # paused mid-term ten days ago, as the tick leaves it: no pause date any more, and the
    # term's 21 unused paid days run from the resume date before the next invoice
    paused = b.subscription("pro-monthly", "live", d(-80))
    b.addon(paused, "priority-support", 1)
    b.bill_terms(paused, 3)
    paused.status, paused.pause_on, paused.resume_on = "paused", None, d(40)
    for name, value in billing.carried_term(paused, paused_on=d(-10), resume_on=d(40)).items():
        setattr(paused, name, value)

    dunning = b.subscription("basic-monthly", "live", d(-62), autocharge=True,
                             payment_method_id=card.id)
    dunning_invoices = b.bill_terms(dunning, 3, paid=2)
    dunning.status, dunning.dunning_attempts, dunning.next_retry_on = "dunning", 1, d(2)
    failed_on = dunning_invoices[-1].issue_date
    session.add(Payment(customer_id=customer.id, status="failed", method="card",
                        payment_method_id=card.id, amount=dunning_invoices[-1].total,
                        currency=customer.currency,
                        idempotency_key=f"engine-{dunning_invoices[-1].id}-1",
                        failure_reason="Your card has insufficient funds.",
                        created_at=now - timedelta(days=(today - failed_on).days),
                        updated_at=now))

    unpaid = b.subscription("enterprise-monthly", "live", d(-95))
    enterprise = b.bill_terms(unpaid, 2, paid=1, due_days=14)
    b.pay([enterprise[1]], on=d(-40), amount=10000, method="bank_transfer",
          reference="Bank transfer ref. 88213")
    unpaid.status, unpaid.next_billing_date = "unpaid", None

    b.subscription("pro-monthly", "expired", d(-20), trial_start=d(-20), trial_end=d(-6),
                   expired_reason="trial_end", autocharge=True, payment_method_id=card.id)

    term_end = b.subscription("event-pass", "live", d(-120))
    b.bill_terms(term_end, 3)
    term_end.status, term_end.expired_reason, term_end.next_billing_date = \
        "expired", "term_end", None

    # two one-off invoices, open and not yet due; a deposit paid part of the first
    workshop = session.exec(select(Addon).where(Addon.code == "onboarding")).one()
    deposited = ledger.issue_invoice(
        session, customer_id=customer.id, currency=customer.currency, kind="one_off",
        priced=price([Charge("one_off", workshop.name, 1, 9900)], tax=tax),
        issue_date=d(-3), due_date=d(14), now=now)
    b.pay([deposited], on=d(-2), amount=5000, method="cheque",
          reference="Cheque 004512, deposit for the workshop")
    ledger.issue_invoice(
        session, customer_id=customer.id, currency=customer.currency, kind="one_off",
        priced=price([Charge("one_off", "Extra support hours", 2, 6000)], tax=tax),
        issue_date=d(-2), due_date=d(20), now=now)
    # and a goodwill credit, applied at once to the oldest open invoice (the Enterprise one)
    ledger.create_credit_note(session, customer_id=customer.id, currency=customer.currency,
                              total=500, reason="Goodwill credit for the October outage",
                              issue_date=d(-1), now=now)


def seed_omar(session: Session, *, customer: Customer, card: PaymentMethod, today: date,
              now: datetime, tax: Tax) -> None:
    """Omar: a smaller history of his own, in euros."""
    b = _Builder(session, customer, today, now, tax, card)
    session.add(ContactPerson(customer_id=customer.id, name="Lina Haddad",
                              email="lina@example.com", role="billing", created_at=now))
    sub = b.subscription("basic-monthly", "live", today - timedelta(days=70), autocharge=True,
                         payment_method_id=card.id)
    b.bill_terms(sub, 3, paid=2, due_days=14)
    # Trying the yearly plan: the admin home's "trials ending in the next 7 days" (issue 31).
    trial_end = today + timedelta(days=5)
    started = trial_end - timedelta(days=30)  # the plan's 30-day trial
    b.subscription("pro-yearly", "trial", started, trial_start=started, trial_end=trial_end,
                   current_term_start=started, current_term_end=trial_end,
                   next_billing_date=trial_end)


def seed_camille(session: Session, *, customer: Customer, card: PaymentMethod, today: date,
                 now: datetime, tax: Tax) -> None:
    """Camille: the Pro plan for two months, in euros; the first month paid by card, the
    second's invoice open, due 14 days after it was issued."""
    b = _Builder(session, customer, today, now, tax, card)
    session.add(ContactPerson(customer_id=customer.id, name="Julien Moreau",
                              email="julien.moreau@example.com", role="billing", created_at=now))
    sub = b.subscription("pro-monthly", "live", today - timedelta(days=40))
    b.bill_terms(sub, 2, paid=1, due_days=14)


def renumber_chronologically(session: Session) -> None:
    """Backfilled history was numbered subscription by subscription; real numbers follow the
    calendar, so hand the same block of numbers out again in date order."""
    from webapp.models import CreditNote

    for model, date_field in ((Invoice, Invoice.issue_date), (CreditNote, CreditNote.issue_date),
                              (Payment, Payment.paid_on)):
        rows = session.exec(select(model).where(model.number.is_not(None))
                            .order_by(date_field, model.id)).all()
        numbers = sorted(row.number for row in rows)
        for row in rows:
            row.number = f"tmp-{row.id}"
        session.flush()
        for row, number in zip(rows, numbers, strict=True):
            row.number = number
        session.flush()


def seed_activity(session: Session, *, now: datetime) -> None:
    """The demo's portal activity, as the services record it (issue 31): the demo's
    cancellations with their reasons and its reviews and messages were written as they
    stand, so their audit entries are added here, on their days."""
    from webapp.models import CustomerMessage, Review
    from webapp.services.core.i18n import N_
    from webapp.services.core.notifications import MESSAGE_PARAMS, record_customer_action

    for sub in session.exec(select(Subscription).where(Subscription.status == "cancelled",
                                                       Subscription.cancel_reason != "")):
        when = datetime.combine(sub.cancelled_on, now.timetz())
        record_customer_action(session, event="subscription_cancelled",
                               customer_id=sub.customer_id, subject_type="subscription",
                               subject_id=sub.id,
                               details={"number": sub.number, "status": sub.status,
                                        "title": N_("%(number)s cancelled by the customer"),
                                        "reason": sub.cancel_reason,
                                        MESSAGE_PARAMS: {"number": sub.number}}, now=when)
    for review in session.exec(select(Review)):
        record_customer_action(session, event="review_submitted", customer_id=review.customer_id,
                               subject_type="customer", subject_id=review.customer_id,
                               details={"title": N_("A %(rating)s-star review"),
                                        MESSAGE_PARAMS: {"rating": review.rating}},
                               now=review.created_at)
    for message in session.exec(select(CustomerMessage)):
        record_customer_action(session, event="customer_message",
                               customer_id=message.customer_id, subject_type="customer",
                               subject_id=message.customer_id,
                               details={"title": N_("Message: %(subject)s"),
                                        MESSAGE_PARAMS: {"subject": message.subject}},
                               now=message.created_at)
