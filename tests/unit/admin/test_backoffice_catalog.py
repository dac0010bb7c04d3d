"""Back office: plans, addons and coupons; archived items leave the choices, not subscriptions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from tests.factories import make_customer, make_subscription, moment_on
from webapp.demo import seed_organization
from webapp.models import AuditEntry, PlanPrice
from webapp.services.admin import Actor, catalog
from webapp.services.admin import subscriptions as admin_subscriptions
from webapp.services.billing.catalog import subscription_items
from webapp.services.core.errors import InvalidInput
from webapp.services.core.preferences import InvalidChanges
from webapp.services.subscriptions import changes

ADMIN = Actor(None, "admin@example.com")


@pytest.fixture
def org(session, now):
    return seed_organization(session, now=now)


def _plan(session, now, code="team", **overrides):
    data = catalog.PlanInput(**({"code": code, "name": code.title(), "trial_days": "14",
                                 "prices": {"USD": "49.00", "JPY": "5000"},
                                 "setup_fees": {"USD": "25"}} | overrides))
    return catalog.create_plan(session, actor=ADMIN, data=data, now=now)


def test_a_plan_is_priced_per_currency_in_minor_units(session, now, org):
    plan = _plan(session, now, code="Team-Monthly")
    prices = {p.currency: (p.amount, p.setup_fee) for p in session.exec(
        select(PlanPrice).where(PlanPrice.plan_id == plan.id))}
    assert plan.code == "team-monthly" and plan.trial_days == 14 and plan.billing_cycles is None
    assert prices == {"USD": (4900, 2500), "JPY": (5000, 0)}
    entry = session.exec(select(AuditEntry)).one()
    assert entry.action == "plan.create" and entry.after["prices"]["USD"] == [4900, 2500]


def test_a_plan_form_with_mistakes_names_each_field(session, now, org):
    with pytest.raises(InvalidChanges) as refused:
        _plan(session, now, code="bad code!", name="", interval_count="0",
              prices={"USD": "12.345", "JPY": "1.5", "EUR": "-3"}, setup_fees={"GBP": "1"})
    assert set(refused.value.errors) == {"code", "name", "interval_count", "price_USD",
                                         "price_JPY", "price_EUR", "setup_GBP"}


def test_plan_codes_are_unique(session, now, org):
    _plan(session, now)
    with pytest.raises(InvalidChanges) as refused:
        _plan(session, now, code="TEAM")
    assert "code" in refused.value.errors


def test_a_price_that_running_subscriptions_bill_in_cannot_be_removed(session, now, org):
    plan = _plan(session, now)
    make_subscription(session, customer=make_customer(session, now=now), now=now, plan=plan)
    with pytest.raises(InvalidChanges) as refused:
        catalog.update_plan(session, actor=ADMIN, plan_id=plan.id, now=now,
                            data=catalog.PlanInput(code="team", name="Team",
                                                   prices={"JPY": "5000"}))
    assert set(refused.value.errors) == {"price_USD"}


def test_the_interval_of_a_plan_in_use_is_fixed_but_its_price_may_change(session, now, org):
    plan = _plan(session, now)
    make_subscription(session, customer=make_customer(session, now=now), now=now, plan=plan)
    with pytest.raises(InvalidChanges):
        catalog.update_plan(session, actor=ADMIN, plan_id=plan.id, now=now,
                            data=catalog.PlanInput(code="team", name="Team", interval_unit="year",
                                                   prices={"USD": "49"}))
    catalog.update_plan(session, actor=ADMIN, plan_id=plan.id, now=now,
                        data=catalog.PlanInput(code="team", name="Team", prices={"USD": "59"}))
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "plan.update")).one()
    assert entry.before["prices"]["USD"] == [4900, 2500] and entry.after["prices"] == {
        "USD": [5900, 0]}


def test_an_archived_plan_leaves_the_choices_and_stays_on_its_subscriptions(session, now, org):
    plan = _plan(session, now)
    customer = make_customer(session, now=now)
    sub = make_subscription(session, customer=customer, now=now, plan=plan)
    view = catalog.set_status(session, actor=ADMIN, kind="plan", item_id=plan.id, archived=True,
                              now=now)
    assert view.archived and view.subscriptions == 1
    assert catalog.active_plans(session, "USD") == ()
    assert admin_subscriptions.choices(session, customer_id=customer.id).plans == ()
    assert subscription_items(session, [sub])[sub.id].plan_price.amount == 4900
    assert sub.plan_id in {p[0] for p in admin_subscriptions.change_choices(
        session, subscription_id=sub.id).plans}
    catalog.set_status(session, actor=ADMIN, kind="plan", item_id=plan.id, archived=False,
                       now=now)
    assert [p.code for p, _ in catalog.active_plans(session, "USD")] == ["team"]


def test_addons_are_one_time_or_recurring_and_priced_above_zero(session, now, org):
    addon = catalog.create_addon(session, actor=ADMIN, now=now, data=catalog.AddonInput(
        "extra-seat", "Extra seat", "recurring", "seat", {"USD": "8", "EUR": "7"}))
    assert [a.code for a, _ in catalog.active_addons(session, "EUR")] == ["extra-seat"]
    with pytest.raises(InvalidChanges) as refused:
        catalog.create_addon(session, actor=ADMIN, now=now, data=catalog.AddonInput(
            "setup", "Setup", "sometimes", "unit", {"USD": "0"}))
    assert set(refused.value.errors) == {"kind", "price_USD"}
    catalog.set_status(session, actor=ADMIN, kind="addon", item_id=addon.id, archived=True,
                       now=now)
    assert catalog.active_addons(session, "EUR") == ()


def _coupon(session, now, **overrides):
    data = catalog.CouponInput(**({"code": "spring", "name": "Spring", "percent": "15",
                                   "duration": "n_terms", "duration_terms": "3"} | overrides))
    return catalog.create_coupon(session, actor=ADMIN, data=data, at=moment_on(now.date(), now))


def test_a_percentage_coupon_for_some_plans_with_a_limit_and_expiry(session, now, org):
    plan = _plan(session, now)
    other = _plan(session, now, code="solo")
    coupon = _coupon(session, now, max_redemptions="1", plan_ids=(plan.id,),
                     expires_on=now.date() + timedelta(days=10))
    assert (coupon.code, coupon.percent_bp, coupon.duration_terms) == ("SPRING", 1500, 3)
    assert catalog.usable_coupon(session, code="spring", plan_id=plan.id, currency="USD",
                                 at=moment_on(now.date())).id == coupon.id
    with pytest.raises(InvalidInput, match="does not apply"):
        catalog.usable_coupon(session, code="SPRING", plan_id=other.id, currency="USD",
                              at=moment_on(now.date()))
    with pytest.raises(InvalidInput, match="expired"):
        catalog.usable_coupon(session, code="SPRING", plan_id=plan.id, currency="USD",
                              at=moment_on(now.date() + timedelta(days=11)))
    catalog.redeem(session, coupon)
    with pytest.raises(InvalidInput, match="used up"):
        catalog.redeem(session, coupon)


def test_a_fixed_coupon_applies_only_in_its_currencies(session, now, org):
    plan = _plan(session, now)
    _coupon(session, now, code="TENOFF", discount_type="fixed", percent="",
            amounts={"USD": "10"}, duration="once", duration_terms="")
    with pytest.raises(InvalidInput, match="no amount in JPY"):
        catalog.usable_coupon(session, code="TENOFF", plan_id=plan.id, currency="JPY",
                              at=moment_on(now.date()))


def test_a_coupon_form_with_mistakes_names_each_field(session, now, org):
    with pytest.raises(InvalidChanges) as refused:
        _coupon(session, now, code="", percent="150", duration="n_terms", duration_terms="",
                max_redemptions="-1", expires_on=now.date() - timedelta(days=1))
    assert set(refused.value.errors) == {"code", "percent", "duration_terms", "max_redemptions",
                                         "expires_on"}


def test_a_redeemed_coupon_keeps_its_discount(session, now, org):
    coupon = _coupon(session, now)
    catalog.redeem(session, coupon)
    with pytest.raises(InvalidChanges) as refused:
        catalog.update_coupon(session, actor=ADMIN, coupon_id=coupon.id,
                              at=moment_on(now.date(), now), data=catalog.CouponInput(
                                  "SPRING", "Spring", percent="20", duration="n_terms",
                                  duration_terms="3"))
    assert "discount_type" in refused.value.errors
    catalog.update_coupon(session, actor=ADMIN, coupon_id=coupon.id,
                          at=moment_on(now.date(), now),
                          data=catalog.CouponInput("SPRING", "Spring sale", percent="15",
                                                   duration="n_terms", duration_terms="3"))
    assert coupon.name == "Spring sale"


def test_an_archived_coupon_cannot_be_added_to_a_subscription(session, now, org):
    coupon = _coupon(session, now)
    catalog.set_status(session, actor=ADMIN, kind="coupon", item_id=coupon.id, archived=True,
                       now=now)
    plan = _plan(session, now)
    sub = make_subscription(session, customer=make_customer(session, now=now), now=now,
                            plan=plan)
    with pytest.raises(InvalidInput, match="does not exist"):
        admin_subscriptions.draft_change(
            session, subscription_id=sub.id, at=moment_on(now.date()),
            request=changes.ChangeRequest(coupon_code="SPRING"))
