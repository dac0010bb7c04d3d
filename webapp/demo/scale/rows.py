"""Rows for Core bulk inserts: the catalog in memory, row builders, and the ledger walk.

`settle` walks one customer's invoices in date order the way the ledger services do: unused
credit first (oldest note first), then payments with their allocations, and an invoice that
is not void is paid exactly when nothing is left to pay.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import Session, select

from webapp.models import (
    Addon,
    AddonPrice,
    ContactPerson,
    Coupon,
    CouponAmount,
    CreditApplication,
    CreditNote,
    Customer,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    Plan,
    PlanPrice,
    Subscription,
    SubscriptionAddon,
    SubscriptionCoupon,
    User,
)
from webapp.services.billing import ledger
from webapp.services.billing.pricing import Charge, Discount, price
from webapp.services.core.dates import add_interval
from webapp.services.core.money import half_up_div

# Insert order: parents before children.
MODELS = {model.__tablename__: model for model in (
    Customer, User, PaymentMethod, ContactPerson, Subscription, SubscriptionAddon,
    SubscriptionCoupon, Invoice, InvoiceLine, CreditNote, CreditApplication, Payment,
    PaymentAllocation)}
TABLES = {name: model.__table__ for name, model in MODELS.items()}


def fill_defaults(name: str, rows: list[dict]) -> None:
    """Give every row the model's default for columns the builders leave out (columns other
    features add later keep working here without an edit)."""
    model, table = MODELS[name], TABLES[name]
    missing = {field: info.get_default(call_default_factory=True)
               for field, info in model.model_fields.items()
               if field in table.c and not table.c[field].primary_key and field not in rows[0]}
    if missing:
        for row in rows:
            row.update(missing)

OFFLINE_METHODS = {"bank_transfer": 70, "cheque": 15, "cash": 15}


def pick(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(tuple(weights), tuple(weights.values()))[0]


@dataclass(frozen=True)
class PlanInfo:
    id: int
    code: str
    name: str
    unit: str
    trial_days: int
    cycles: int | None
    prices: dict[str, tuple[int, int]]  # currency -> (amount, setup fee)


@dataclass(frozen=True)
class ItemInfo:
    """An addon or a coupon, with its amounts per currency."""

    id: int
    code: str
    name: str
    amounts: dict[str, int]
    percent_bp: int | None = None
    duration: str = "forever"
    terms: int | None = None


@dataclass
class Catalog:
    plans: dict[str, PlanInfo]
    addons: dict[str, ItemInfo]
    coupons: dict[str, ItemInfo]
    _priced: dict = field(default_factory=dict)

    @classmethod
    def load(cls, session: Session) -> Catalog:
        """The demo catalog (seed_catalog) with its prices."""
        plan_prices, addon_prices, coupon_amounts = defaultdict(dict), defaultdict(dict), \
            defaultdict(dict)
        for p in session.exec(select(PlanPrice)):
            plan_prices[p.plan_id][p.currency] = (p.amount, p.setup_fee)
        for p in session.exec(select(AddonPrice)):
            addon_prices[p.addon_id][p.currency] = p.unit_amount
        for p in session.exec(select(CouponAmount)):
            coupon_amounts[p.coupon_id][p.currency] = p.amount
        plans = {p.code: PlanInfo(p.id, p.code, p.name, p.interval_unit, p.trial_days,
                                  p.billing_cycles, plan_prices[p.id])
                 for p in session.exec(select(Plan))}
        addons = {a.code: ItemInfo(a.id, a.code, a.name, addon_prices[a.id])
                  for a in session.exec(select(Addon))}
        coupons = {c.code: ItemInfo(c.id, c.code, c.name, coupon_amounts[c.id], c.percent_bp,
                                    c.duration, c.duration_terms)
                   for c in session.exec(select(Coupon))}
        return cls(plans, addons, coupons)

    def term_lines(self, plan: PlanInfo, currency: str, addons: tuple[tuple[str, int], ...],
                   coupons: tuple[str, ...], setup: bool, tax_rate_bp: int | None):
        """A term's priced lines, computed once per distinct combination."""
        key = (plan.code, currency, addons, coupons, setup, tax_rate_bp)
        if key not in self._priced:
            amount, setup_fee = plan.prices[currency]
            charges = [Charge("plan", plan.name, 1, amount)]
            charges += [Charge("addon", self.addons[code].name, qty,
                               self.addons[code].amounts[currency]) for code, qty in addons]
            if setup and setup_fee:
                charges.append(Charge("setup_fee", "Setup fee", 1, setup_fee, discountable=False))
            discounts = [Discount(c.code, c.name, c.percent_bp, c.amounts.get(currency))
                         for c in (self.coupons[code] for code in coupons)]
            self._priced[key] = price(charges, discounts, tax_rate_bp=tax_rate_bp)
        return self._priced[key]


@dataclass
class Term:
    """An invoice row and how it gets settled: card | manual | fail | void."""

    row: dict
    fate: str


@dataclass
class Batch:
    """The rows of a batch of customers, table by table."""

    catalog: Catalog
    today: date
    now: datetime
    tax_rate_bp: int | None
    password_hash: str
    email_domain: str
    take_id: Callable[[str], int]
    rows: dict[str, list[dict]] = field(default_factory=lambda: {name: [] for name in TABLES})
    redemptions: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    def count(self, table: str) -> int:
        return len(self.rows[table])

    def at(self, day: date, hour: int = 9) -> datetime:
        return min(datetime.combine(day, time(hour), tzinfo=UTC), self.now)

    def invoice(self, customer: dict, *, kind: str, priced, issue: date, due: date,
                subscription_id: int | None = None, period: tuple[date, date] | None = None) -> dict:
        """An open invoice and its lines; settled later by the customer's ledger walk."""
        invoice_id = self.take_id("invoice")
        row = {"id": invoice_id, "number": None, "customer_id": customer["id"],
               "subscription_id": subscription_id, "kind": kind, "status": "open",
               "currency": customer["currency"], "issue_date": issue, "due_date": due,
               "period_start": period[0] if period else None,
               "period_end": period[1] if period else None,
               "subtotal": priced.subtotal, "tax_total": priced.tax_total, "total": priced.total,
               "tax_rate_bp": priced.tax_rate_bp, "tax_note": priced.tax_note,
               "amount_paid": 0, "credits_applied": 0, "idempotency_key": None,
               "paid_on": None, "voided_on": None, "created_at": self.at(issue, 6)}
        self.rows["invoice"].append(row)
        self.rows["invoice_line"].extend(
            {"invoice_id": invoice_id, **ledger.line_columns(priced, position, line)}
            for position, line in enumerate(priced.lines))
        return row

    def credit_note(self, customer: dict, *, total: int, reason: str, issue: date,
                    invoice_id: int | None = None, subscription_id: int | None = None) -> dict:
        row = {"id": self.take_id("credit_note"), "number": None, "customer_id": customer["id"],
               "invoice_id": invoice_id, "subscription_id": subscription_id,
               "currency": customer["currency"], "reason": reason, "total": total,
               "balance": total, "issue_date": issue, "status": "open",
               "created_at": self.at(issue, 12)}
        self.rows["credit_note"].append(row)
        return row

    def payment(self, customer: dict, *, amount: int, on: date, method: str,
                card: dict | None = None, failed: bool = False) -> dict:
        payment_id = self.take_id("payment")
        row = {"id": payment_id, "number": None, "customer_id": customer["id"],
               "kind": "payment", "status": "failed" if failed else "succeeded",
               "method": method, "payment_method_id": card["id"] if card else None,
               "amount": amount, "currency": customer["currency"],
               "idempotency_key": f"scale-{payment_id}",
               "gateway_reference": f"ch_scale_{payment_id}" if card and not failed else None,
               "failure_reason": "Your card has insufficient funds." if failed else None,
               "reference": "" if card else f"Ref. {payment_id:08d}", "refund_of_id": None,
               "paid_on": None if failed else on, "created_at": self.at(on, 7),
               "updated_at": self.at(on, 7)}
        self.rows["payment"].append(row)
        return row


def settle(batch: Batch, rng: random.Random, customer: dict, card: dict,
           terms: list[Term], notes: list[dict]) -> None:
    """Walk the customer's invoices in date order: unused credit first, then payments."""
    terms.sort(key=lambda t: (t.row["issue_date"], t.row["id"]))
    notes.sort(key=lambda n: (n["issue_date"], n["id"]))
    available, next_note = [], 0
    for term in terms:
        invoice = term.row
        while next_note < len(notes) and notes[next_note]["issue_date"] <= invoice["issue_date"]:
            available.append(notes[next_note])
            next_note += 1
        if term.fate == "void":
            invoice["status"] = "void"
            invoice["voided_on"] = min(invoice["issue_date"] + timedelta(days=2), batch.today)
            continue
        settled_on = _apply_credit(batch, invoice, available)
        settled_on = _pay(batch, rng, customer, card, term) or settled_on
        if _balance(invoice) == 0:
            invoice["status"], invoice["paid_on"] = "paid", settled_on
    for note in notes:
        note["status"] = "open" if note["balance"] else "closed"


def _balance(invoice: dict) -> int:
    return invoice["total"] - invoice["amount_paid"] - invoice["credits_applied"]


def _apply_credit(batch: Batch, invoice: dict, notes: list[dict]) -> date | None:
    """The oldest open credit notes pay what they can, on the invoice's date."""
    applied_on = None
    for note in notes:
        amount = min(note["balance"], _balance(invoice))
        if amount <= 0:
            continue
        note["balance"] -= amount
        invoice["credits_applied"] += amount
        applied_on = invoice["issue_date"]
        batch.rows["credit_application"].append({
            "credit_note_id": note["id"], "invoice_id": invoice["id"], "amount": amount,
            "applied_on": applied_on})
    return applied_on


def _pay(batch: Batch, rng: random.Random, customer: dict, card: dict,
         term: Term) -> date | None:
    """Payments for what is left: a card charge on the day, or an offline payment later
    (sometimes in two parts); anything dated after today has not happened yet."""
    invoice, due = term.row, _balance(term.row)
    if due <= 0:
        return None
    if term.fate == "fail":
        batch.payment(customer, amount=due, on=invoice["issue_date"], method="card", card=card,
                      failed=True)
        return None
    if term.fate == "card":
        parts = [(due, invoice["issue_date"], "card")]
    else:
        method = pick(rng, OFFLINE_METHODS)
        first_on = invoice["issue_date"] + timedelta(days=rng.randint(0, 20))
        if rng.random() < 0.06:
            half = due // 2
            parts = [(half, first_on, method),
                     (due - half, first_on + timedelta(days=rng.randint(5, 30)), method)]
        else:
            parts = [(due, first_on, method)]
    paid_on = None
    for amount, on, method in parts:
        if on > batch.today:
            break
        payment = batch.payment(customer, amount=amount, on=on, method=method,
                                card=card if method == "card" else None)
        batch.rows["payment_allocation"].append({"payment_id": payment["id"],
                                                 "invoice_id": invoice["id"],
                                                 "amount": amount})
        invoice["amount_paid"] += amount
        paid_on = on
    return paid_on


def unused_time_credit(total: int, term: tuple[date, date], cancelled_on: date) -> int:
    """The unused part of the last term, whole days, half-up."""
    days = (term[1] - term[0]).days
    unused = max(0, (term[1] - cancelled_on).days)
    return half_up_div(total * unused, days) if days else 0


def interval_end(plan: PlanInfo, start: date, anchor_day: int) -> date:
    return add_interval(start, plan.unit, 1, anchor_day)
