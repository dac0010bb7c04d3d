"""One customer's years of history: subscriptions in mixed states, their invoices, one-off
invoices, credit notes now and then, and the payments that settle them.

A customer joins 2–6 years before today with a first subscription; more follow until about
`target_invoices` terms have been billed. Each subscription bills one invoice per term (plan,
addons, coupon discounts while active, the setup fee on the first term) and ends in a state
drawn from ENDINGS; event passes that ran their cycles expire. Some customers also have a
subscription that never billed (trial, future, expired trial).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from types import SimpleNamespace

from webapp.demo.scale.rows import (
    Batch,
    PlanInfo,
    Term,
    interval_end,
    pick,
    settle,
    unused_time_credit,
)
from webapp.services.billing import terms as billing
from webapp.services.billing.pricing import Charge, price

PLAN_WEIGHTS = {"basic-monthly": 34, "pro-monthly": 34, "enterprise-monthly": 10,
                "pro-yearly": 10, "event-pass": 12}
ENDINGS = {"live": 52, "cancelled": 14, "non_renewing": 6, "paused": 6, "dunning": 5,
           "unpaid": 4}
FRESH = {"trial": 5, "future": 3, "expired_trial": 2}  # subscriptions with no invoice yet
TRIAL_PLANS = ("basic-monthly", "pro-monthly", "pro-yearly")
COUPON_ODDS = (("WELCOME20", 0.15), ("SAVE10", 0.07), ("LOYAL15", 0.05))
CANCEL_REASONS = ("Moved to another plan", "Too expensive", "Project finished",
                  "Switched to a competitor", "")
FIRST_NAMES = ("Ava", "Ben", "Chloé", "Dev", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas",
               "Kira", "Liam", "Maya", "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tara")
LAST_NAMES = ("Adams", "Bianchi", "Chen", "Dubois", "Evans", "Fischer", "García", "Hansen",
              "Ito", "Jensen", "Kowalski", "López", "Müller", "Nakamura", "Okafor", "Patel")
COMPANY_WORDS = ("Acme", "Blue", "Cedar", "Delta", "Echo", "Fern", "Granite", "Harbor", "Iris",
                 "Juniper", "Kite", "Lumen", "Maple", "Nova", "Orbit", "Pine")
COMPANY_KINDS = ("Labs", "Studio", "Consulting", "Logistics", "Foods", "Media", "Systems")
SUPPORT_HOUR = {"USD": 6000, "EUR": 5500}
MAX_SUBSCRIPTIONS = 40


@dataclass(frozen=True)
class CustomerSpec:
    email: str | None  # None: a generated address
    target_invoices: int


def add_customer(batch: Batch, rng: random.Random, spec: CustomerSpec) -> None:
    """A customer, their login and card, and their history since they joined."""
    years = 8 if spec.target_invoices > 200 else rng.uniform(2, 6)
    since = batch.today - timedelta(days=int(365 * years))
    customer = _customer(batch, rng, spec, since)
    card = _card(batch, rng, customer)
    _History(batch, rng, customer, card, since).build(spec.target_invoices)


def _customer(batch: Batch, rng: random.Random, spec: CustomerSpec, since: date) -> dict:
    customer_id = batch.take_id("customer")
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    email = spec.email or f"customer{customer_id}@{batch.email_domain}"
    created = batch.at(since, 8)
    row = {"id": customer_id, "display_name": f"{first} {last}",
           "company": f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_KINDS)}",
           "email": email, "phone": f"+1 555 {rng.randint(1000000, 9999999)}",
           "currency": "EUR" if rng.random() < 0.2 else "USD",
           "billing_address": f"{rng.randint(1, 999)} Main Street, Springfield",
           "shipping_address": "", "tax_id": "", "portal_enabled": True, "created_at": created}
    # Some read their own locale (no random draw, so the rest of the history stays the same).
    row["locale"] = "de_DE" if row["currency"] == "EUR" else \
        "en_GB" if customer_id % 4 == 0 else None
    batch.rows["customer"].append(row)
    batch.rows["user"].append({"email": email, "password_hash": batch.password_hash,
                               "role": "customer", "customer_id": customer_id,
                               "session_version": 1, "is_active": True, "created_at": created,
                               "last_login_at": None})
    if rng.random() < 0.3:
        batch.rows["contact_person"].append({
            "customer_id": customer_id, "name": f"{rng.choice(FIRST_NAMES)} {last}",
            "email": f"billing{customer_id}@{batch.email_domain}", "role": "billing",
            "created_at": created})
    return row


def _card(batch: Batch, rng: random.Random, customer: dict) -> dict:
    card_id = batch.take_id("payment_method")
    row = {"id": card_id, "customer_id": customer["id"],
           # the test gateway reads the card's behaviour from the token, so these charge
           "gateway_token": f"tok_test_ok_scale{card_id}",
           "brand": rng.choice(("Visa", "Mastercard")), "last4": f"{rng.randint(0, 9999):04d}",
           "exp_month": rng.randint(1, 12), "exp_year": batch.today.year + rng.randint(1, 4),
           "is_default": True, "status": "active", "created_at": customer["created_at"]}
    batch.rows["payment_method"].append(row)
    return row


class _History:
    def __init__(self, batch: Batch, rng: random.Random, customer: dict, card: dict,
                 since: date) -> None:
        self.batch, self.rng, self.customer, self.card, self.since = \
            batch, rng, customer, card, since
        self.today = batch.today
        self.terms: list[Term] = []
        self.notes: list[dict] = []

    def build(self, target: int) -> None:
        billed, start = 0, self.since
        for _ in range(MAX_SUBSCRIPTIONS):
            if billed >= target:
                break
            billed += self.subscription_with_history(start)
            # the next one starts about as many months back as invoices are still wanted
            back = 30 * (target - billed) + self.rng.randint(-20, 20)
            start = min(max(self.since, self.today - timedelta(days=back)),
                        self.today - timedelta(days=1))
        if self.rng.random() < 0.3:
            self.fresh_subscription()
        for _ in range(self.rng.choices((0, 1, 2, 3), (40, 30, 20, 10))[0]):
            self.one_off()
        if self.rng.random() < 0.2:
            self.batch.credit_note(self.customer, total=self.rng.choice((500, 1000, 1500, 2500)),
                                   reason="Goodwill credit", issue=self.some_day())
            self.notes.append(self.batch.rows["credit_note"][-1])
        settle(self.batch, self.rng, self.customer, self.card, self.terms, self.notes)

    def some_day(self) -> date:
        return self.since + timedelta(days=self.rng.randint(0, (self.today - self.since).days))

    def subscription_row(self, plan: PlanInfo, start: date, status: str, autocharge: bool,
                         **fields) -> dict:
        row = {"id": self.batch.take_id("subscription"), "number": None,
               "customer_id": self.customer["id"], "plan_id": plan.id,
               "currency": self.customer["currency"], "status": status, "expired_reason": None,
               "status_before_cancel": None, "start_date": start, "trial_start": None,
               "trial_end": None, "current_term_start": None, "current_term_end": None,
               "next_billing_date": None, "anchor_day": start.day, "autocharge": autocharge,
               "payment_method_id": self.card["id"] if autocharge else None,
               "trial_extensions_used": 0, "cycles_billed": 0, "pause_on": None,
               "resume_on": None, "dunning_attempts": 0, "next_retry_on": None,
               "cancelled_on": None, "cancel_reason": "", "held_invoice_id": None,
               "term_days": None, "created_at": self.batch.at(start),
               "updated_at": self.batch.now} | fields
        self.batch.rows["subscription"].append(row)
        return row

    def ending(self, state: str, start: date) -> tuple[str, date, dict]:
        """(state, last day a term may start, the fields that state sets)."""
        rng, today = self.rng, self.today
        days = (today - start).days
        if state == "cancelled" and days >= 1:
            on = start + timedelta(days=rng.randint(1, days))
            return state, on - timedelta(days=1), {
                "cancelled_on": on, "cancel_reason": rng.choice(CANCEL_REASONS)}
        pause_on = today - timedelta(days=rng.randint(5, 60))
        if state == "paused" and pause_on > start:
            resume_on = today + timedelta(days=rng.randint(5, 60))
            return state, pause_on - timedelta(days=1), {
                "pause_on": pause_on, "resume_on": resume_on, "next_billing_date": resume_on}
        stopped = today - timedelta(days=rng.randint(20, 90))
        if state == "unpaid" and stopped > start:
            return state, stopped, {}
        if state in ("cancelled", "paused", "unpaid"):
            state = "live"
        return state, today, {}

    def periods(self, plan: PlanInfo, start: date, last_start: date) -> list[tuple[date, date]]:
        periods, term_start = [], start
        while term_start <= last_start and (plan.cycles is None or len(periods) < plan.cycles):
            end = interval_end(plan, term_start, start.day)
            periods.append((term_start, end))
            term_start = end
        return periods

    def subscription_with_history(self, start: date) -> int:
        """One subscription billed term by term from `start`; returns its invoice count."""
        rng, catalog = self.rng, self.batch.catalog
        plan = catalog.plans[pick(rng, PLAN_WEIGHTS)]
        state, last_start, fields = self.ending(pick(rng, ENDINGS), start)
        autocharge = state in ("dunning", "unpaid") or rng.random() < 0.7
        periods = self.periods(plan, start, last_start)
        if plan.cycles and len(periods) == plan.cycles and periods[-1][1] <= self.today \
                and "cancelled_on" not in fields:
            state, fields = "expired", {"expired_reason": "term_end"}
        fields |= self.term_fields(state, periods)
        if state == "paused":
            # As the tick leaves a mid-term pause: no pause date, the unused days after resuming.
            paused_on = fields.pop("pause_on")
            fields |= billing.carried_term(
                SimpleNamespace(current_term_start=fields["current_term_start"],
                                current_term_end=fields["current_term_end"], term_days=None),
                paused_on=paused_on, resume_on=fields["resume_on"])
        sub = self.subscription_row(plan, start, state, autocharge,
                                    cycles_billed=len(periods), **fields)
        addons = tuple((code, qty) for code, qty, odds in
                       (("extra-seat", rng.randint(1, 5), 0.9), ("priority-support", 1, 0.7))
                       if rng.random() < odds)
        for code, qty in addons:
            self.batch.rows["subscription_addon"].append({
                "subscription_id": sub["id"], "addon_id": catalog.addons[code].id,
                "quantity": qty})
        coupon = self.coupon(sub)
        invoices = [self.term_invoice(sub, plan, addons, coupon, index, period, state,
                                      len(periods))
                    for index, period in enumerate(periods)]
        # What the customer holds now: the last term's invoice (until a cancellation credits it).
        sub["held_invoice_id"] = invoices[-1]["id"] if invoices else None
        if state == "cancelled" and rng.random() < 0.6:
            self.cancellation_credit(sub, plan, invoices[-1], periods[-1])
            sub["held_invoice_id"] = None
        return len(invoices)

    def term_fields(self, state: str, periods: list[tuple[date, date]]) -> dict:
        term_start, term_end = periods[-1]
        fields = {"current_term_start": term_start, "current_term_end": term_end}
        if state in ("live", "dunning"):
            fields["next_billing_date"] = term_end
        if state == "non_renewing":
            fields["status_before_cancel"] = "live"
        if state == "dunning":
            fields["dunning_attempts"] = self.rng.randint(1, 2)
            fields["next_retry_on"] = self.today + timedelta(days=self.rng.randint(1, 5))
        return fields

    def coupon(self, sub: dict) -> dict | None:
        """Maybe one coupon on the subscription: (coupon info, link row)."""
        draw, threshold = self.rng.random(), 0.0
        for code, odds in COUPON_ODDS:
            threshold += odds
            info = self.batch.catalog.coupons.get(code)
            if draw < threshold and info is not None and (
                    info.percent_bp is not None or sub["currency"] in info.amounts):
                link = {"subscription_id": sub["id"], "coupon_id": info.id, "terms_used": 0,
                        "in_current_term": False,
                        "applied_at": sub["created_at"]}
                self.batch.rows["subscription_coupon"].append(link)
                self.batch.redemptions[info.id] += 1
                return {"info": info, "link": link}
        return None

    def term_invoice(self, sub: dict, plan: PlanInfo, addons, coupon: dict | None, index: int,
                     period: tuple[date, date], state: str, count: int) -> dict:
        active = ()
        if coupon is not None and _coupon_active(coupon["info"], coupon["link"]["terms_used"]):
            coupon["link"]["terms_used"] += 1
        if coupon is not None:  # the last term invoiced is the current one
            coupon["link"]["in_current_term"] = bool(active)
            active = (coupon["info"].code,)
        priced = self.batch.catalog.term_lines(plan, sub["currency"], addons, active,
                                               setup=index == 0, tax_rate_bp=self.batch.tax_rate_bp)
        issue = period[0]
        if (state == "dunning" and index == count - 1) or (state == "unpaid" and index >= count - 2):
            fate = "fail"
        elif issue < self.today - timedelta(days=30) and self.rng.random() < 0.005:
            fate = "void"
        else:
            fate = "card" if sub["autocharge"] else "manual"
        due = issue if sub["autocharge"] else issue + timedelta(days=14)
        invoice = self.batch.invoice(self.customer, kind="first_term" if index == 0 else "renewal",
                                     priced=priced, issue=issue, due=due,
                                     subscription_id=sub["id"], period=period)
        self.terms.append(Term(invoice, fate))
        return invoice

    def cancellation_credit(self, sub: dict, plan: PlanInfo, invoice: dict,
                            period: tuple[date, date]) -> None:
        total = unused_time_credit(invoice["total"], period, sub["cancelled_on"])
        if total > 0:
            self.notes.append(self.batch.credit_note(
                self.customer, total=total, issue=sub["cancelled_on"],
                reason=f"Unused time on the cancelled {plan.name} subscription",
                invoice_id=invoice["id"], subscription_id=sub["id"]))

    def fresh_subscription(self) -> None:
        """A subscription with nothing billed yet: in trial, starting later, or a lapsed trial."""
        rng, today = self.rng, self.today
        plan = self.batch.catalog.plans[rng.choice(TRIAL_PLANS)]
        state, autocharge, trial = pick(rng, FRESH), rng.random() < 0.7, plan.trial_days
        if state == "future":
            start = today + timedelta(days=rng.randint(3, 40))
            self.subscription_row(plan, start, "future", autocharge, next_billing_date=start)
            return
        if state == "trial":
            start = today - timedelta(days=rng.randint(0, trial - 1))
            end = start + timedelta(days=trial)
            self.subscription_row(plan, start, "trial", autocharge, trial_start=start,
                                  trial_end=end, current_term_start=start,
                                  current_term_end=end, next_billing_date=end)
            return
        start = today - timedelta(days=rng.randint(trial + 1, trial + 60))
        self.subscription_row(plan, start, "expired", autocharge, trial_start=start,
                              trial_end=start + timedelta(days=trial),
                              expired_reason="trial_end")

    def one_off(self) -> None:
        currency, issue = self.customer["currency"], self.some_day()
        workshop = self.batch.catalog.addons.get("onboarding")
        if workshop is not None and currency in workshop.amounts and self.rng.random() < 0.4:
            charge = Charge("one_off", workshop.name, 1, workshop.amounts[currency])
        else:
            charge = Charge("one_off", "Extra support hours", self.rng.randint(1, 4),
                            SUPPORT_HOUR.get(currency, 6000))
        invoice = self.batch.invoice(self.customer, kind="one_off",
                                     priced=price([charge], tax_rate_bp=self.batch.tax_rate_bp),
                                     issue=issue, due=issue + timedelta(days=14))
        self.terms.append(Term(invoice, "manual"))


def _coupon_active(info, terms_used: int) -> bool:
    if info.duration == "once":
        return terms_used < 1
    if info.duration == "n_terms":
        return terms_used < (info.terms or 0)
    return True
