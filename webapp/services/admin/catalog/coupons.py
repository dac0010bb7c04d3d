"""Coupons: a percentage or a fixed amount per currency, for once, some terms or forever,
with an optional redemption limit, expiry and list of plans."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import delete
from sqlmodel import Session, col, select

from webapp.models import Coupon, CouponAmount, CouponPlan, Plan, Subscription, SubscriptionCoupon
from webapp.services.admin import Actor
from webapp.services.admin.catalog.common import (
    ACTIVE,
    COUPON_CODE,
    DISCOUNT_TYPES,
    DURATIONS,
    check_code,
    coupon_code,
    get_item,
    in_use_currencies,
    item_name,
    parse_prices,
    record,
    whole_number,
)
from webapp.services.core import audit
from webapp.services.core.dates import Moment
from webapp.services.core.errors import InvalidInput
from webapp.services.core.i18n import _, ngettext
from webapp.services.core.money import SUPPORTED_CURRENCIES
from webapp.services.core.preferences import InvalidChanges, parse_percent


@dataclass(frozen=True)
class CouponInput:
    code: str
    name: str
    discount_type: str = "percentage"
    percent: str = ""
    amounts: Mapping[str, str] = field(default_factory=dict)  # fixed coupons, per currency
    duration: str = "once"
    duration_terms: str = ""
    max_redemptions: str = ""
    expires_on: date | None = None
    plan_ids: tuple[int, ...] = ()  # empty: every plan


def _coupon_snapshot(session: Session, coupon: Coupon) -> dict:
    amounts = session.exec(select(CouponAmount).where(CouponAmount.coupon_id == coupon.id)
                           .order_by(CouponAmount.currency)).all()
    plans = sorted(session.exec(select(CouponPlan.plan_id).where(CouponPlan.coupon_id == coupon.id)))
    return {"code": coupon.code, "name": coupon.name, "discount_type": coupon.discount_type,
            "percent_bp": coupon.percent_bp, "amounts": {a.currency: a.amount for a in amounts},
            "duration": coupon.duration, "duration_terms": coupon.duration_terms,
            "max_redemptions": coupon.max_redemptions, "expires_on": coupon.expires_on,
            "plan_ids": plans}


def _discount(errors: dict, data: CouponInput) -> tuple[int | None, dict[str, int]]:
    if data.discount_type not in DISCOUNT_TYPES:
        errors["discount_type"] = _("Choose percentage or fixed amount.")
        return None, {}
    if data.discount_type == "percentage":
        try:
            percent_bp = parse_percent(data.percent)
        except InvalidInput as exc:
            errors["percent"] = exc.message
            return None, {}
        if percent_bp is None or not 0 < percent_bp <= 10000:
            errors["percent"] = _("Enter a percentage above 0 and at most 100.")
        return percent_bp, {}
    amounts = parse_prices(data.amounts, errors, "amount", allow_zero=False)
    if not amounts and not any(k.startswith("amount_") for k in errors):
        errors["amount_" + SUPPORTED_CURRENCIES[0]] = _("Give the amount in at least one "
                                                        "currency.")
    return None, amounts


def _coupon_values(session: Session, data: CouponInput, coupon: Coupon | None,
                   today: date) -> dict:
    errors: dict[str, str] = {}
    code = coupon.code if coupon else coupon_code(data.code)
    if coupon is None:
        check_code(errors, session, Coupon, code, COUPON_CODE, None)
    percent_bp, amounts = _discount(errors, data)
    if data.duration not in DURATIONS:
        errors["duration"] = _("Choose once, a number of terms or forever.")
    terms = whole_number(errors, "duration_terms", data.duration_terms, low=1, high=120,
                         required=data.duration == "n_terms") if data.duration == "n_terms" else None
    limit = whole_number(errors, "max_redemptions", data.max_redemptions, low=1, high=10**6,
                         required=False)
    if coupon is None and data.expires_on is not None and data.expires_on < today:
        errors["expires_on"] = _("The expiry date cannot be in the past.")
    known = set(session.exec(select(Plan.id).where(col(Plan.id).in_(list(data.plan_ids) or [0]))))
    if set(data.plan_ids) - known:
        errors["plan_ids"] = _("Choose plans from the list.")
    values = {"code": code, "name": item_name(errors, data.name),
              "discount_type": data.discount_type, "percent_bp": percent_bp,
              "duration": data.duration, "duration_terms": terms, "max_redemptions": limit,
              "expires_on": data.expires_on}
    if coupon is not None and coupon.redemptions > 0:
        fixed = ("discount_type", "percent_bp", "duration", "duration_terms")
        if any(values[k] != getattr(coupon, k) for k in fixed if k not in errors):
            errors.setdefault("discount_type", _("The coupon has been redeemed: its discount "
                                                 "and duration cannot change."))
        if limit is not None and limit < coupon.redemptions:
            # (English says "1 times" too: the plural forms are the translations')
            errors["max_redemptions"] = ngettext("It has already been redeemed %(num)d times.",
                                                 "It has already been redeemed %(num)d times.",
                                                 coupon.redemptions)
    if errors:
        raise InvalidChanges(errors)
    return values | {"amounts": amounts, "plan_ids": sorted(known)}


def _write_coupon_links(session: Session, coupon: Coupon, amounts: dict[str, int],
                        plan_ids: list[int]) -> None:
    session.execute(delete(CouponAmount).where(CouponAmount.coupon_id == coupon.id))
    session.execute(delete(CouponPlan).where(CouponPlan.coupon_id == coupon.id))
    session.add_all(CouponAmount(coupon_id=coupon.id, currency=c, amount=a)
                    for c, a in amounts.items())
    session.add_all(CouponPlan(coupon_id=coupon.id, plan_id=p) for p in plan_ids)
    session.flush()


def create_coupon(session: Session, *, actor: Actor, data: CouponInput, at: Moment) -> Coupon:
    """A new, active coupon; audited."""
    values = _coupon_values(session, data, None, at.today)
    amounts, plan_ids = values.pop("amounts"), values.pop("plan_ids")
    coupon = Coupon(status=ACTIVE, created_at=at.now, **values)
    session.add(coupon)
    session.flush()
    _write_coupon_links(session, coupon, amounts, plan_ids)
    record(session, actor, "coupon.create", "coupon", coupon.id, {},
           _coupon_snapshot(session, coupon), at.now)
    return coupon


def update_coupon(session: Session, *, actor: Actor, coupon_id: int, data: CouponInput,
                  at: Moment) -> Coupon:
    """Change a coupon; a redeemed one keeps its discount and duration. Audited."""
    coupon = get_item(session, Coupon, coupon_id)
    values = _coupon_values(session, data, coupon, at.today)
    before = _coupon_snapshot(session, coupon)
    amounts, plan_ids = values.pop("amounts"), values.pop("plan_ids")
    if coupon.discount_type == "fixed":
        using = Subscription.id.in_(select(SubscriptionCoupon.subscription_id).where(
            SubscriptionCoupon.coupon_id == coupon.id))
        missing = in_use_currencies(session, using) - set(amounts)
        if missing:
            raise InvalidChanges({f"amount_{c}": _("Subscriptions use it in %(currency)s: keep "
                                                   "an amount.", currency=c)
                                  for c in sorted(missing)})
    for name, value in values.items():
        setattr(coupon, name, value)
    _write_coupon_links(session, coupon, amounts, plan_ids)
    old, new = audit.diff(before, _coupon_snapshot(session, coupon))
    if new:
        record(session, actor, "coupon.update", "coupon", coupon.id, old, new, at.now)
    return coupon

