"""The billing oracle (issue 22): the figures of a term, computed independently with exact
fractions of days, against what the real change, cancel and renewal services bill.

The oracle knows only unit prices, the days each set of items was held and the days left: a
held item set is worth (plan + seats − coupons) × days held / days in the term, a coupon's
value per term is its value (prorated with what it discounts), and a "once" coupon counted for
this term does not discount the next one. The services are driven the way customers drive them
(preview, then confirm; cancel now; the engine's renewal), and the invariants are the issue's:

- no day is credited twice and none that was not paid; never more money credited than paid;
- the term's invoices less its credits equal what the oracle says was held, within one minor
  unit per line;
- a coupon's discount per term is at most its value;
- in each tax mode (issue 30: none, the organization's rate, exempt, reverse charge, a region's
  rate, inclusive prices) every invoice's totals are the sum of its lines and each line's tax
  is its own, half-up, at the rate the mode gives (with inclusive prices the oracle's values
  are prices, and the invoices' totals are compared with them).

Every plan of a play bills by one interval (issue 30): a month, a week, a day, every 2 weeks,
every 3 days or every 3 months; the days of a change are spread over that term's days.

The property runs on SQLite, each example in one session rolled back at its end; a few fixed
sequences run on both databases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import Session, select

from tests.conftest import wipe
from tests.factories import make_customer, moment_on
from webapp.demo import seed_organization
from webapp.models import (
    Addon,
    AddonPrice,
    Coupon,
    CouponAmount,
    CreditNote,
    Invoice,
    InvoiceLine,
    Plan,
    PlanPrice,
    Subscription,
    SubscriptionAddon,
    SubscriptionCoupon,
    TaxRate,
)
from webapp.services.billing import ledger, tax, terms
from webapp.services.billing.pricing import Line
from webapp.services.core import numbering
from webapp.services.core.dates import add_interval
from webapp.services.core.preferences import seed_demo_preferences
from webapp.services.subscriptions import actions, lifecycle
from webapp.services.subscriptions import changes as subscription_changes
from webapp.services.subscriptions.changes import IMMEDIATELY, ChangeRequest

PLANS = (3000, 5000, 7000, 12345)
SEAT = 800
# code: (fixed amount or None, percentage in basis points or None, duration)
COUPONS = {"FIX15": (1500, None, "forever"), "PCT15": (None, 1500, "forever"),
           "ONCE9": (900, None, "once"), "BIG9K": (9000, None, "forever")}
TERMS = (date(2026, 11, 1), date(2027, 1, 5), date(2028, 2, 1))  # 30, 31 and 29 days
# (unit, count) a play's plans bill by
INTERVALS = (("month", 1), ("week", 1), ("week", 2), ("day", 1), ("day", 3), ("month", 3),
             ("year", 1))
_DAYS = re.compile(r" \(\d+ of \d+ days\)$")
# mode: the Tax its customer's lines get (tax_for), as the Shop sets the mode up
MODES = {"none": tax.NO_TAX, "rate": tax.Tax(2000, "VAT"),
         "exempt": tax.Tax(0, "Exempt", False, "Exempt: registered charity"),
         "reverse_charge": tax.Tax(0, "VAT", False, tax.REVERSE_CHARGE_NOTE),
         "region": tax.Tax(725, "Sales tax"), "inclusive": tax.Tax(2000, "VAT", True)}


def _base(description: str) -> str:
    return _DAYS.sub("", description.removeprefix("Unused time: "))


def at(on: date) -> datetime:
    return datetime(on.year, on.month, on.day, 10, 0, tzinfo=UTC)


# -- The oracle ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Held:
    plan: int
    seats: int
    coupons: tuple[str, ...]  # in the order they apply

    def discounts(self) -> dict[str, Fraction]:
        """Each coupon's discount on a whole term of these items."""
        base = Fraction(self.plan + self.seats * SEAT)
        left, off = base, {}
        for code in self.coupons:
            amount, percent, _ = COUPONS[code]
            share = min(Fraction(amount), left) if amount else min(base * percent / 10_000, left)
            off[code] = share
            left -= share
        return off

    def value(self) -> Fraction:
        return self.plan + self.seats * SEAT - sum(self.discounts().values())


@dataclass
class Oracle:
    term_days: int
    held: Held
    since: int = 0  # the day the items held now were taken
    owed: Fraction = Fraction(0)
    coupon_off: dict[str, Fraction] = field(default_factory=dict)
    counted: set[str] = field(default_factory=set)  # coupons counted for this term

    def hold(self, day: int, held: Held) -> None:
        """From `day` on the customer holds `held`."""
        days = Fraction(day - self.since, self.term_days)
        self.owed += self.held.value() * days
        for code, off in self.held.discounts().items():
            self.coupon_off[code] = self.coupon_off.get(code, 0) + off * days
        self.held, self.since = held, day
        self.counted |= set(held.coupons)

    def end(self, day: int) -> None:
        self.hold(day, self.held)

    def next_term(self) -> Held:
        """What the renewal bills: a "once" coupon counted for this term is spent."""
        return Held(self.held.plan, self.held.seats, tuple(
            c for c in self.held.coupons if COUPONS[c][2] != "once"))


# -- The services, as customers use them -------------------------------------------------------

class Shop:
    def __init__(self, session: Session, start: date, mode: str,
                 interval: tuple[str, int] = ("month", 1)):
        self.session, self.start, self.mode = session, start, mode
        now = at(start)
        org = seed_organization(session, now=now)
        org.tax_name, org.tax_rate_bp = (None, None) if mode == "none" else ("VAT", 2000)
        org.tax_inclusive = mode == "inclusive"
        seed_demo_preferences(session, now=now)
        self.customer = make_customer(session, now=now)
        if mode == "exempt":
            self.customer.tax_exempt = True
            self.customer.tax_exempt_reason = "registered charity"
        elif mode == "reverse_charge":
            org.country, org.tax_id = "DE", "DE136695976"
            self.customer.country, self.customer.tax_id = "NL", "NL004495445B01"
        elif mode == "region":
            session.add_all([TaxRate(country="US", region="", rate_bp=500, label="Sales tax"),
                             TaxRate(country="US", region="CA", rate_bp=725, label="Sales tax")])
            self.customer.country, self.customer.region = "US", "CA"
        session.flush()
        tax.forget_rates(session)
        assert tax.tax_for(session, self.customer.id) == MODES[mode]
        self.plans = {}
        for amount in PLANS:
            plan = Plan(code=f"p{amount}", name=f"Plan {amount}", interval_unit=interval[0],
                        interval_count=interval[1], created_at=now)
            session.add(plan)
            session.flush()
            session.add(PlanPrice(plan_id=plan.id, currency="USD", amount=amount))
            self.plans[amount] = plan
        self.seat = Addon(code="seat", name="Seat", created_at=now)
        session.add(self.seat)
        session.flush()
        session.add(AddonPrice(addon_id=self.seat.id, currency="USD", unit_amount=SEAT))
        self.coupons = {}
        for code, (amount, percent, duration) in COUPONS.items():
            coupon = Coupon(code=code, name=code.title(), created_at=now, duration=duration,
                            discount_type="fixed" if amount else "percentage",
                            percent_bp=percent)
            session.add(coupon)
            session.flush()
            if amount:
                session.add(CouponAmount(coupon_id=coupon.id, currency="USD", amount=amount))
            self.coupons[code] = coupon
        session.flush()
        # The credit lines of each change or cancellation (a credit note when they come to
        # more than nothing): credit note id (None: no note) and the lines.
        self.credits: list[tuple[int | None, tuple[Line, ...]]] = []

    def subscribe(self, held: Held) -> Subscription:
        now = at(self.start)
        sub = Subscription(number=numbering.take_one(self.session, "subscription"),
                           customer_id=self.customer.id, plan_id=self.plans[held.plan].id,
                           currency="USD", status="live", start_date=self.start,
                           anchor_day=self.start.day, created_at=now, updated_at=now)
        self.session.add(sub)
        self.session.flush()
        if held.seats:
            self.session.add(SubscriptionAddon(subscription_id=sub.id, addon_id=self.seat.id,
                                               quantity=held.seats))
        for code in held.coupons:
            self.session.add(SubscriptionCoupon(subscription_id=sub.id, applied_at=now,
                                                coupon_id=self.coupons[code].id))
        self.session.flush()
        draft = terms.draft(self.session, sub, terms.Term(self.start, "first_term"),
                            tax=tax.tax_for(self.session, self.customer.id))
        invoice = terms.issue(self.session, sub, draft, issue_date=self.start,
                              due_date=self.start, now=now)
        ledger.record_payment(self.session, customer_id=self.customer.id, amount=invoice.total,
                              currency="USD", invoices=[invoice], paid_on=self.start, now=now,
                              idempotency_key=f"paid-{invoice.id}")
        sub.current_term_start, sub.current_term_end = draft.period.start, draft.period.end
        sub.next_billing_date, sub.cycles_billed = draft.period.end, 1
        self.session.flush()
        return sub

    def _note_after(self, before: int) -> CreditNote | None:
        return self.session.exec(select(CreditNote).where(CreditNote.id > before)
                                 .order_by(CreditNote.id.desc())).first()

    def _last_note_id(self) -> int:
        last = self.session.exec(select(CreditNote.id).order_by(CreditNote.id.desc())).first()
        return last or 0

    def change(self, sub: Subscription, on: date, request: ChangeRequest) -> None:
        ids = {"customer_id": self.customer.id, "subscription_id": sub.id}
        draft = subscription_changes.draft_change(self.session, **ids, request=request,
                                                  at=moment_on(on))
        before = self._last_note_id()
        subscription_changes.confirm_change(self.session, **ids, request=request,
                                            fingerprint=draft.fingerprint(),
                                            at=moment_on(on, at(on)))
        note = self._note_after(before)
        self.credits.append((note.id if note else None, draft.credit_lines))

    def cancel(self, sub: Subscription, on: date) -> None:
        ids = {"customer_id": self.customer.id, "subscription_id": sub.id}
        unused = actions.cancel_options(self.session, **ids, now=at(on)).unused
        result = actions.cancel(self.session, **ids, timing=actions.IMMEDIATELY,
                                reason="Other", details="", now=at(on))
        self.credits.append((result.credit_note.id if result.credit_note else None,
                             unused.priced.lines if unused else ()))

    def renew(self, sub: Subscription) -> Invoice:
        lifecycle.tick(self.session, now=at(sub.current_term_end))
        return self.session.exec(select(Invoice).where(Invoice.subscription_id == sub.id,
                                                       Invoice.kind == "renewal")).one()

    def lines(self, invoice_id: int) -> list[InvoiceLine]:
        return list(self.session.exec(select(InvoiceLine).where(
            InvoiceLine.invoice_id == invoice_id).order_by(InvoiceLine.position)))


# -- One term, played on both ------------------------------------------------------------------

def play(session: Session, start: date, first: Held, steps: list[tuple[int, str, object]],
         mode: str, interval: tuple[str, int] = ("month", 1)) -> None:
    """Play `steps` (day, what, value) in one term on the services and on the oracle, then
    renew (unless cancelled), and check every invariant."""
    shop = Shop(session, start, mode, interval)
    sub = shop.subscribe(first)
    term_days = (sub.current_term_end - sub.current_term_start).days
    assert term_days == (add_interval(start, *interval, start.day) - start).days
    oracle = Oracle(term_days, first, counted=set(first.coupons))
    cancelled = None
    for day, what, value in steps:
        held = oracle.held
        on = start + timedelta(days=day)
        if what == "cancel":
            shop.cancel(sub, on)
            oracle.end(day)
            cancelled = day
            break
        if what == "plan" and value != held.plan:
            request, new = ChangeRequest(plan_id=shop.plans[value].id), \
                Held(value, held.seats, held.coupons)
        elif what == "seats" and value != held.seats:
            request, new = ChangeRequest(addons={shop.seat.id: value}), \
                Held(held.plan, value, held.coupons)
        elif what == "coupon" and value not in held.coupons:
            request, new = ChangeRequest(coupon_code=value, timing=IMMEDIATELY), \
                Held(held.plan, held.seats, (*held.coupons, value))
        else:
            continue  # asks for nothing new: the form would refuse it
        shop.change(sub, on, request)
        oracle.hold(day, new)
    if cancelled is None:
        oracle.end(term_days)
    _check_term(shop, sub, oracle)
    if cancelled is None:
        _check_renewal(shop, sub, oracle)
    _check_tax(shop, sub)


def _price(shop: Shop, line) -> int:
    """What a line costs in the oracle's terms: its amount, its tax too when prices include it."""
    return line.amount + line.tax_amount if shop.mode == "inclusive" else line.amount


def _check_tax(shop: Shop, sub: Subscription) -> None:
    """Every invoice's totals are the sum of its lines; each line's tax is its own, half-up,
    at the mode's rate (a discount's at most that: it gives back no more than was added)."""
    expected = MODES[shop.mode]
    invoices = shop.session.exec(select(Invoice).where(Invoice.subscription_id == sub.id)).all()
    assert invoices
    for invoice in invoices:
        lines = shop.lines(invoice.id)
        assert invoice.subtotal == sum(x.amount for x in lines)
        assert invoice.tax_total == sum(x.tax_amount for x in lines)
        assert invoice.total == invoice.subtotal + invoice.tax_total
        assert invoice.tax_note == expected.note
        for line in lines:
            assert (line.tax_rate_bp, line.tax_label, line.tax_basis) == \
                (expected.rate_bp, expected.label, line.amount)
            price = _price(shop, line)
            if price >= 0:
                assert line.tax_amount == expected.of(price), (line.description, price)
            else:
                assert 0 <= -line.tax_amount <= expected.of(-price)


def _check_term(shop: Shop, sub: Subscription, oracle: Oracle) -> None:
    session = shop.session
    invoices = session.exec(select(Invoice).where(Invoice.subscription_id == sub.id)
                            .order_by(Invoice.id)).all()
    by_id = {i.id: i for i in invoices}
    notes = session.exec(select(CreditNote).where(CreditNote.subscription_id == sub.id)
                         .order_by(CreditNote.id)).all()
    # No day is credited twice, and none that was not paid: each credit note credits the
    # days from its date to the term's end of one held invoice, which paid for them.
    credited = [n.invoice_id for n in notes]
    assert len(credited) == len(set(credited)), "an invoice's days were credited twice"
    lines_of = dict(shop.credits)
    assert {n.id for n in notes} == set(lines_of) - {None}
    for note in notes:
        paid = by_id[note.invoice_id]
        assert paid.period_start <= note.issue_date < paid.period_end
        # Never more money than was paid, per line and in all.
        assert note.total <= paid.total
        assert note.total == sum(x.amount + x.tax_amount for x in lines_of[note.id])
        paid_lines = {_base(x.description): x for x in shop.lines(paid.id)}
        for line in lines_of[note.id]:
            source = paid_lines[_base(line.description)]
            assert abs(line.amount) <= abs(source.amount) and line.amount * source.amount >= 0
            assert abs(line.tax_amount) <= abs(source.tax_amount)
    assert sum(n.total for n in notes) <= sum(i.total for i in invoices)
    # What the term's invoices less its credits come to: what the oracle says was held.
    credit_lines = [x for _, lines in shop.credits for x in lines]
    billed = sum(_price(shop, x) for i in invoices for x in shop.lines(i.id)) - \
        sum(_price(shop, x) for x in credit_lines)
    lines = sum(len(shop.lines(i.id)) for i in invoices) + len(credit_lines)
    assert abs(billed - oracle.owed) <= lines, (billed, oracle.owed)
    # A coupon's discount per term: at most its value, and what the oracle says it took off.
    for code, (amount, _, _) in COUPONS.items():
        label = f"Coupon {code}:"
        given_ = -sum(_price(shop, x) for i in invoices for x in shop.lines(i.id)
                      if x.kind == "discount" and x.description.startswith(label))
        taken_back = -sum(_price(shop, x) for x in credit_lines
                          if _base(x.description).startswith(label))
        off = given_ - taken_back
        if amount:
            assert off <= amount, (code, off)
        expected = oracle.coupon_off.get(code, 0)
        count = sum(1 for i in invoices for x in shop.lines(i.id)
                    if x.description.startswith(label)) + \
            sum(1 for x in credit_lines if _base(x.description).startswith(label))
        assert abs(off - expected) <= count, (code, off, expected)


def _check_renewal(shop: Shop, sub: Subscription, oracle: Oracle) -> None:
    renewal = shop.renew(sub)
    nxt = oracle.next_term()
    lines = shop.lines(renewal.id)
    billed = sum(_price(shop, x) for x in lines)
    assert abs(billed - nxt.value()) <= len(lines), (billed, nxt.value())
    spent = {c for c in oracle.counted if COUPONS[c][2] == "once"}
    assert not any(x.description.startswith(f"Coupon {c}:") for c in spent for x in lines)


# -- Checked examples, on both databases ----------------------------------------------------------

@pytest.mark.parametrize(("first", "steps"), [
    # the issue's figures: 30000 → 50000 on day 10, then → 70000 on day 20 (scaled down)
    (Held(3000, 0, ()), [(10, "plan", 5000), (20, "plan", 7000)]),
    # a downgrade, then cancelling now with 10 days left
    (Held(5000, 0, ()), [(10, "plan", 3000), (20, "cancel", None)]),
    # seats added and removed after a plan change, under a fixed coupon
    (Held(3000, 1, ("FIX15",)), [(5, "plan", 7000), (12, "seats", 3), (12, "seats", 0),
                                 (25, "plan", 5000)]),
    # a "once" coupon added mid-term is spent on this term, not the renewal
    (Held(5000, 2, ("PCT15",)), [(7, "coupon", "ONCE9"), (19, "seats", 1)]),
])
def test_the_services_bill_what_the_oracle_says_was_held(engine, first, steps):
    with Session(engine, expire_on_commit=False) as session:
        play(session, TERMS[0], first, steps, mode="rate")


@pytest.mark.parametrize("mode", sorted(MODES))
def test_each_tax_mode_bills_what_the_oracle_says(engine, mode):
    """The third example above (a fixed coupon, a plan change, seats, a downgrade) in each
    tax mode."""
    with Session(engine, expire_on_commit=False) as session:
        play(session, TERMS[0], Held(3000, 1, ("FIX15",)),
             [(5, "plan", 7000), (12, "seats", 3), (12, "seats", 0), (25, "plan", 5000)], mode)


@pytest.mark.parametrize(("interval", "first", "steps"), [
    # a weekly term: an upgrade on day 3 (4 of 7 days left), seats on day 5, cancel on day 6
    (("week", 1), Held(3000, 0, ()), [(3, "plan", 5000), (5, "seats", 2), (6, "cancel", None)]),
    # every 2 weeks under a fixed coupon: changes on days 4 and 9 of 14, then the renewal
    (("week", 2), Held(5000, 1, ("FIX15",)), [(4, "plan", 12345), (9, "seats", 0)]),
    # a daily plan: a change on its only day, then the next day's renewal
    (("day", 1), Held(7000, 0, ("PCT15",)), [(0, "plan", 3000)]),
    # every 3 months (1 Nov – 1 Feb, 92 days) with a "once" coupon added mid-term
    (("month", 3), Held(3000, 2, ()), [(40, "coupon", "ONCE9"), (70, "plan", 7000)]),
])
def test_daily_weekly_and_interval_count_terms_bill_what_the_oracle_says(engine, interval,
                                                                         first, steps):
    with Session(engine, expire_on_commit=False) as session:
        play(session, TERMS[0], first, steps, mode="rate", interval=interval)


# -- The property ---------------------------------------------------------------------------------

_step = st.one_of(
    st.tuples(st.just("plan"), st.sampled_from(PLANS)),
    st.tuples(st.just("seats"), st.integers(0, 3)),
    st.tuples(st.just("coupon"), st.sampled_from(sorted(COUPONS))),
    st.tuples(st.just("cancel"), st.none()),
)


@st.composite
def _terms(draw):
    start = draw(st.sampled_from(TERMS))
    first = Held(draw(st.sampled_from(PLANS)), draw(st.integers(0, 2)),
                 tuple(draw(st.lists(st.sampled_from(sorted(COUPONS)), max_size=2,
                                     unique=True))))
    interval = draw(st.sampled_from(INTERVALS))
    term_days = (add_interval(start, *interval, start.day) - start).days
    # a day of the term: 0–27 of a month as before, spread over the days of any other term
    steps = draw(st.lists(st.tuples(st.integers(0, 27), _step), max_size=5))
    steps = [(day if interval == ("month", 1) else day * term_days // 28, what, value)
             for day, (what, value) in sorted(steps, key=lambda s: s[0])]
    return start, first, steps, draw(st.sampled_from(sorted(MODES))), interval


@pytest.fixture(scope="module")
def oracle_engine(sqlite_engine):
    wipe(sqlite_engine)
    return sqlite_engine


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(term=_terms())
def test_random_terms_of_changes_cancels_and_coupons_bill_what_the_oracle_says(
        oracle_engine, term):
    start, first, steps, mode, interval = term
    with Session(oracle_engine, expire_on_commit=False) as session:
        try:
            play(session, start, first, steps, mode, interval)
        finally:
            session.rollback()
