"""Plans: code, name, interval, billing cycles, trial, and a price and setup fee per currency."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, select

from webapp.models import Plan, PlanPrice, Subscription
from webapp.services.admin import Actor
from webapp.services.admin.catalog.common import (
    ACTIVE,
    CODE,
    INTERVAL_UNITS,
    audited_update,
    check_code,
    get_item,
    in_use_currencies,
    item_name,
    parse_prices,
    plan_code,
    record,
    whole_number,
)
from webapp.services.core.dates import MAX_INTERVAL_COUNT
from webapp.services.core.i18n import _
from webapp.services.core.money import SUPPORTED_CURRENCIES
from webapp.services.core.preferences import InvalidChanges


@dataclass(frozen=True)
class PlanInput:
    code: str
    name: str
    description: str = ""
    interval_unit: str = "month"
    interval_count: str = "1"
    billing_cycles: str = ""  # blank: until cancelled
    trial_days: str = "0"
    prices: Mapping[str, str] = field(default_factory=dict)  # currency -> typed amount
    setup_fees: Mapping[str, str] = field(default_factory=dict)


def _plan_values(session: Session, data: PlanInput, plan: Plan | None) -> dict:
    errors: dict[str, str] = {}
    code = plan.code if plan else plan_code(data.code)
    if plan is None:
        check_code(errors, session, Plan, code, CODE, None)
    if data.interval_unit not in INTERVAL_UNITS:
        errors["interval_unit"] = _("Choose day, week, month or year.")
    # Every 2 weeks, every 3 months: at most MAX_INTERVAL_COUNT of the unit per term (36 when
    # the unit is not known yet).
    most = MAX_INTERVAL_COUNT.get(data.interval_unit, 36)
    values = {
        "code": code, "name": item_name(errors, data.name),
        "description": (data.description or "").strip()[:1000],
        "interval_unit": data.interval_unit,
        "interval_count": whole_number(errors, "interval_count", data.interval_count, low=1, high=most),
        "billing_cycles": whole_number(errors, "billing_cycles", data.billing_cycles, low=1,
                                       high=1000, required=False),
        "trial_days": whole_number(errors, "trial_days", data.trial_days or "0", low=0, high=365),
    }
    prices = parse_prices(data.prices, errors, "price", allow_zero=True)
    setup = parse_prices(data.setup_fees, errors, "setup")
    for currency in setup:
        if currency not in prices:
            errors.setdefault(f"setup_{currency}", _("Give the plan a price in this currency first."))
    if not prices and not any(k.startswith("price_") for k in errors):
        errors["price_" + SUPPORTED_CURRENCIES[0]] = _("Price the plan in at least one "
                                                       "currency.")
    if plan is not None:
        if plan_in_use(session, plan.id) and (values["interval_unit"], values["interval_count"]) != (
                plan.interval_unit, plan.interval_count):
            errors["interval_unit"] = _("Subscriptions use this plan: its interval cannot change.")
        for currency in in_use_currencies(session, Subscription.plan_id == plan.id) - set(prices):
            errors[f"price_{currency}"] = _("Subscriptions bill in %(currency)s: keep a price.",
                                            currency=currency)
    if errors:
        raise InvalidChanges(errors)
    values["prices"] = {c: [a, setup.get(c, 0)] for c, a in sorted(prices.items())}
    return values


def plan_in_use(session: Session, plan_id: int) -> bool:
    return session.exec(select(Subscription.id).where(Subscription.plan_id == plan_id)).first() \
        is not None


def _plan_snapshot(session: Session, plan: Plan) -> dict:
    prices = session.exec(select(PlanPrice).where(PlanPrice.plan_id == plan.id)
                          .order_by(PlanPrice.currency)).all()
    return {"code": plan.code, "name": plan.name, "description": plan.description,
            "interval_unit": plan.interval_unit, "interval_count": plan.interval_count,
            "billing_cycles": plan.billing_cycles, "trial_days": plan.trial_days,
            "prices": {p.currency: [p.amount, p.setup_fee] for p in prices}}


def _write_plan_prices(session: Session, plan: Plan, prices: dict[str, list[int]]) -> None:
    existing = {p.currency: p for p in session.exec(select(PlanPrice).where(
        PlanPrice.plan_id == plan.id))}
    for currency, row in existing.items():
        if currency not in prices:
            session.delete(row)
    session.flush()
    for currency, (amount, setup_fee) in prices.items():
        row = existing.get(currency)
        if row is None:
            session.add(PlanPrice(plan_id=plan.id, currency=currency, amount=amount,
                                  setup_fee=setup_fee))
        else:
            row.amount, row.setup_fee = amount, setup_fee


def create_plan(session: Session, *, actor: Actor, data: PlanInput, now: datetime) -> Plan:
    """A new, active plan with its prices; audited."""
    values = _plan_values(session, data, None)
    prices = values.pop("prices")
    plan = Plan(status=ACTIVE, created_at=now, **values)
    session.add(plan)
    session.flush()
    _write_plan_prices(session, plan, prices)
    session.flush()
    record(session, actor, "plan.create", "plan", plan.id, {}, _plan_snapshot(session, plan), now)
    return plan


def update_plan(session: Session, *, actor: Actor, plan_id: int, data: PlanInput,
                now: datetime) -> Plan:
    """Change a plan; new prices apply from each subscription's next invoice. Audited."""
    plan = get_item(session, Plan, plan_id)
    return audited_update(session, actor=actor, item=plan, kind="plan",
                          values=_plan_values(session, data, plan),
                          write_prices=_write_plan_prices, snapshot=_plan_snapshot, now=now)

