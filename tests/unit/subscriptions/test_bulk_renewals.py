"""The set-based renewal and settlement paths write exactly what the per-subscription path does.

Each example arranges the same subscriptions twice (random plans, addons, coupons, tax, cards
that succeed or decline, auto-charge on or off, a scheduled change, unused credit, a last
billing cycle), renews them once through the bulk paths (`renewals`, `charges.run_many`) and
once one by one (`lifecycle.tick(bulk=False)`, `charges.run`), and compares every row written.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import update
from sqlmodel import Session, select

from tests.conftest import wipe
from tests.factories import moment_on
from tests.walk import DECLINED_CARD, GOOD_CARD
from webapp.db import write_intent
from webapp.demo import seed_organization
from webapp.models import (
    Addon,
    AddonPrice,
    Coupon,
    CouponAmount,
    Customer,
    Invoice,
    InvoiceLine,
    Notification,
    Organization,
    OutboxMessage,
    Payment,
    PaymentAllocation,
    PaymentMethod,
    Plan,
    PlanPrice,
    ScheduledChange,
    Subscription,
    SubscriptionAddon,
    SubscriptionCoupon,
)
from webapp.services.billing import charges, ledger, settlements
from webapp.services.billing.gateway import CardDetails, ChargeResult, TestGateway
from webapp.services.subscriptions import lifecycle, renewals

DUE = date(2027, 3, 1)
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)

spec = st.fixed_dictionaries({
    "addon_qty": st.integers(0, 3),
    "coupon": st.sampled_from([None, "pct_once", "pct_forever", "fixed_forever", "fixed_big"]),
    "card": st.sampled_from([None, GOOD_CARD, GOOD_CARD, DECLINED_CARD]),
    "autocharge": st.booleans(),
    "special": st.sampled_from([None, None, None, "scheduled_change", "credit", "last_cycle"]),
})


def _arrange(engine, specs: list[dict], tax_rate_bp: int | None) -> None:
    gateway = TestGateway(engine)
    with write_intent(), Session(engine) as s:
        org = seed_organization(s, now=NOW - timedelta(days=40))
        s.get(Organization, org.id).tax_rate_bp = tax_rate_bp
        plan = Plan(code="m", name="Monthly", created_at=NOW)
        capped = Plan(code="c", name="Three months", billing_cycles=3, created_at=NOW)
        bigger = Plan(code="b", name="Bigger", created_at=NOW)
        addon = Addon(code="seat", name="Seat", created_at=NOW)
        s.add_all([plan, capped, bigger, addon])
        s.flush()
        s.add_all([PlanPrice(plan_id=plan.id, currency="USD", amount=2999),
                   PlanPrice(plan_id=capped.id, currency="USD", amount=1000),
                   PlanPrice(plan_id=bigger.id, currency="USD", amount=5000),
                   AddonPrice(addon_id=addon.id, currency="USD", unit_amount=333)])
        coupons = {
            "pct_once": Coupon(code="P1", name="15% once", discount_type="percentage",
                               percent_bp=1500, duration="once", created_at=NOW),
            "pct_forever": Coupon(code="PF", name="12.5% forever", discount_type="percentage",
                                  percent_bp=1250, duration="forever", created_at=NOW),
            "fixed_forever": Coupon(code="FF", name="5 off", discount_type="fixed",
                                    duration="forever", created_at=NOW),
            "fixed_big": Coupon(code="FB", name="All off", discount_type="fixed",
                                duration="n_terms", duration_terms=2, created_at=NOW),
        }
        s.add_all(coupons.values())
        s.flush()
        s.add_all([CouponAmount(coupon_id=coupons["fixed_forever"].id, currency="USD", amount=500),
                   CouponAmount(coupon_id=coupons["fixed_big"].id, currency="USD",
                                amount=99_999)])
        for n, item in enumerate(specs, start=1):
            customer = Customer(display_name=f"Customer {n}", email=f"c{n}@example.com",
                                currency="USD", created_at=NOW)
            s.add(customer)
            s.flush()
            method_id = None
            if item["card"]:
                token = gateway.tokenize(CardDetails(item["card"], 12, 2030, "123"), now=NOW)
                method = PaymentMethod(customer_id=customer.id, gateway_token=token.token,
                                       brand=token.brand, last4=token.last4, exp_month=12,
                                       exp_year=2030, is_default=True, created_at=NOW)
                s.add(method)
                s.flush()
                method_id = method.id
            last = item["special"] == "last_cycle"
            sub = Subscription(
                number=f"SUB-{n:04d}", customer_id=customer.id,
                plan_id=(capped if last else plan).id, currency="USD", status="live",
                start_date=DUE - timedelta(days=28), anchor_day=1,
                current_term_start=DUE - timedelta(days=28), current_term_end=DUE,
                next_billing_date=DUE, autocharge=item["autocharge"],
                payment_method_id=method_id, cycles_billed=3 if last else 1,
                created_at=NOW, updated_at=NOW)
            s.add(sub)
            s.flush()
            if item["addon_qty"]:
                s.add(SubscriptionAddon(subscription_id=sub.id, addon_id=addon.id,
                                        quantity=item["addon_qty"]))
            if item["coupon"]:
                s.add(SubscriptionCoupon(subscription_id=sub.id,
                                         coupon_id=coupons[item["coupon"]].id, applied_at=NOW))
            if item["special"] == "scheduled_change":
                s.add(ScheduledChange(subscription_id=sub.id, kind="change", effective_on=DUE,
                                      payload={"plan_id": bigger.id}, created_at=NOW))
            if item["special"] == "credit":
                ledger.create_credit_note(s, customer_id=customer.id, currency="USD", total=1234,
                                          reason="Goodwill", issue_date=DUE - timedelta(days=3),
                                          now=NOW)
        s.commit()


def _scope(engine):
    from contextlib import contextmanager

    @contextmanager
    def unit():
        with write_intent(), Session(engine, expire_on_commit=False) as s:
            yield s
            s.commit()
    return unit


def _renew(engine, *, bulk: bool) -> None:
    with write_intent(), Session(engine) as s:
        result = lifecycle.tick(s, now=NOW, bulk=bulk)
        s.commit()
    payment_ids = result.payment_ids
    assert not result.more
    gateway = TestGateway(engine)
    if bulk:
        charges.run_many(_scope(engine), gateway, payment_ids=payment_ids, now=NOW)
    else:
        for payment_id in payment_ids:
            charges.run(_scope(engine), gateway, payment_id=payment_id, now=NOW)


NUMBERED = re.compile(r"(INV|PAY)-\d+|/(invoices|payments)/\d+|engine-\d+|/fix/[\w-]+")


def _rows(engine) -> dict:
    """Everything the renewals wrote, told apart by subscription rather than by id or number.

    Within one tick the order in which subscriptions take numbers is not a promise (the bulk
    path numbers its batch after the ones it hands back), so ids and numbers are replaced by
    the subscription they belong to; that the numbers form the same gap-free series is
    compared on its own. Random values (gateway references, Message-IDs, fix-link tokens)
    are left out.
    """
    with Session(engine) as s:
        invoices = {i.id: i for i in s.exec(select(Invoice))}
        payments = {p.id: p for p in s.exec(select(Payment))}
        sub_of = {**{("invoice", k): v.subscription_id for k, v in invoices.items()},
                  **{("payment", k): v.subscription_id for k, v in payments.items()}}

        def page(link):  # a mail's link: the invoice or payment it names, by subscription
            kind = {"invoices.detail": "invoice", "payments.receipt": "payment"}.get(
                link["endpoint"])
            if kind is not None:
                return link["endpoint"], ("sub", sub_of[(kind, link["values"][f"{kind}_id"])])
            return link["endpoint"], "#" if "token" in link["values"] else link["values"]

        def canon(row, **refs):
            out = {}
            for key, value in row.model_dump().items():
                if key in ("id", "number", "message_id_header", "gateway_reference",
                           "lease_until", "updated_at"):
                    continue
                if key in refs and value is not None:
                    value = ("sub", sub_of[(refs[key], value)])
                elif isinstance(value, str):
                    value = NUMBERED.sub("#", value)
                elif isinstance(value, dict):
                    value = repr({k: NUMBERED.sub("#", v) if isinstance(v, str) else
                                  ([sub_of[("invoice", x)] for x in v] if k == "invoice_ids"
                                   else page(v) if k == "page" else v)
                                  for k, v in value.items()})
                out[key] = value
            return repr(sorted(out.items()))

        def table(model, **refs):
            return sorted(canon(row, **refs) for row in s.exec(select(model)))

        return {
            "numbers": (sorted(i.number for i in invoices.values()),
                        sorted(p.number or "" for p in payments.values())),
            "subscriptions": table(Subscription, awaiting_payment_id="payment",
                                   held_invoice_id="invoice"),
            "invoices": table(Invoice, pending_payment_id="payment"),
            "lines": table(InvoiceLine, invoice_id="invoice"),
            "payments": table(Payment),
            "allocations": table(PaymentAllocation, payment_id="payment", invoice_id="invoice"),
            "coupon_uses": table(SubscriptionCoupon),
            "outbox": table(OutboxMessage),
            "notifications": table(Notification),
        }


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(specs=st.lists(spec, min_size=1, max_size=12),
       tax_rate_bp=st.sampled_from([None, 2000, 1925]))
def test_bulk_paths_write_what_the_one_by_one_path_writes(engine, specs, tax_rate_bp):
    wipe(engine)
    _arrange(engine, specs, tax_rate_bp)
    _renew(engine, bulk=True)
    bulk = _rows(engine)
    wipe(engine)
    _arrange(engine, specs, tax_rate_bp)
    _renew(engine, bulk=False)
    one_by_one = _rows(engine)
    for table in one_by_one:
        assert bulk[table] == one_by_one[table], table
    # Every subscription was billed once, but the one on its last cycle, which expired.
    assert len(bulk["invoices"]) == sum(s["special"] != "last_cycle" for s in specs)
    # Ran again at the same instant: nothing more is billed or charged.
    _renew(engine, bulk=True)
    assert _rows(engine) == bulk


def test_plain_renewals_go_through_the_bulk_paths(engine, monkeypatch):
    """The common case really takes the set-based paths (else the test above proves little)."""
    calls = {"renew": 0, "settle": 0, "record": 0}
    for module, name in ((renewals, "renew"), (settlements, "settle"), (charges, "record")):
        original = getattr(module, name)

        def spy(*args, _original=original, _name=name, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)
        monkeypatch.setattr(module, name, spy)
    plain = {"addon_qty": 1, "coupon": "pct_forever", "card": GOOD_CARD, "autocharge": True,
             "special": None}
    _arrange(engine, [plain] * 5, 2000)
    _renew(engine, bulk=True)
    assert calls == {"renew": 1, "settle": 1, "record": 0}
    with Session(engine) as s:
        subs = s.exec(select(Subscription)).all()
        assert {(sub.next_billing_date, sub.awaiting_payment_id) for sub in subs} == \
            {(date(2027, 4, 1), None)}
        assert {i.status for i in s.exec(select(Invoice))} == {"paid"}


def test_a_subscription_changed_meanwhile_sends_the_batch_down_the_slow_path(engine):
    """A guard that misses rolls the whole batch back; each is then renewed on its own."""
    _arrange(engine, [{"addon_qty": 0, "coupon": None, "card": GOOD_CARD, "autocharge": True,
                       "special": None}] * 3, None)
    with write_intent(), Session(engine) as s:
        subs = s.exec(select(Subscription).order_by(Subscription.id)).all()
        s.exec(select(Organization)).one()
        # Another runner renewed the second one after this batch read it.
        s.connection().execute(update(Subscription.__table__)
                               .where(Subscription.__table__.c.id == subs[1].id)
                               .values(next_billing_date=date(2027, 4, 1)))
        try:
            with s.begin_nested():
                renewals.renew(s, subs, at=moment_on(DUE, NOW),
                               org=s.get(Organization, 1), invoice_due_days=7)
        except renewals.StaleBatch:
            pass
        else:
            raise AssertionError("the stale batch was written")
        assert s.exec(select(Invoice)).all() == []


def test_a_payment_recorded_meanwhile_sends_the_settlement_down_the_one_by_one_path(engine):
    """The settlement's guard comes after its allocations: a miss rolls them back too."""
    _arrange(engine, [{"addon_qty": 0, "coupon": None, "card": GOOD_CARD, "autocharge": True,
                       "special": None}] * 3, None)
    with write_intent(), Session(engine) as s:
        payment_ids = lifecycle.tick(s, now=NOW).payment_ids
        s.commit()
    results = {pid: ChargeResult(True, f"ch_{pid}", None, None) for pid in payment_ids}
    with write_intent(), Session(engine) as s:  # another runner recorded the second one
        charges.record(s, payment_id=payment_ids[1], result=results[payment_ids[1]], now=NOW)
        s.commit()
    with write_intent(), Session(engine) as s:
        charges.record_many(s, results, now=NOW)
        s.commit()
    with Session(engine) as s:
        allocations = s.exec(select(PaymentAllocation)).all()
        payments = s.exec(select(Payment).order_by(Payment.id)).all()
        assert sorted(a.payment_id for a in allocations) == sorted(payment_ids)
        assert {p.status for p in payments} == {"succeeded"}
        assert sorted(p.number for p in payments) == ["PAY-000001", "PAY-000002", "PAY-000003"]
        assert {i.status for i in s.exec(select(Invoice))} == {"paid"}
        assert {sub.awaiting_payment_id for sub in s.exec(select(Subscription))} == {None}
