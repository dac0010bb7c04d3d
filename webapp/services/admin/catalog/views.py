"""Reading the catalog, archiving and restoring, and what a new subscription may choose."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from webapp.models import (
    Addon,
    AddonPrice,
    Coupon,
    CouponAmount,
    CouponPlan,
    Plan,
    PlanPrice,
    Subscription,
    SubscriptionAddon,
)
from webapp.services.admin import Actor
from webapp.services.admin.catalog.common import (
    ACTIVE,
    ADDON_KINDS,
    ARCHIVED,
    DURATIONS,
    coupon_code,
    get_item,
    record,
)
from webapp.services.billing.catalog import redeem as count_redemption
from webapp.services.core.dates import Moment, interval_label
from webapp.services.core.errors import InvalidInput
from webapp.services.core.i18n import _, ngettext
from webapp.services.core.preferences import format_percent

# --- Reading ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlanView:
    plan: Plan
    prices: tuple[PlanPrice, ...]
    subscriptions: int  # how many subscriptions (any state) are on it

    @property
    def archived(self) -> bool:
        return self.plan.status == ARCHIVED

    @property
    def interval_label(self) -> str:
        return interval_label(self.plan.interval_unit, self.plan.interval_count)

    @property
    def cycles_label(self) -> str:
        cycles = self.plan.billing_cycles
        # (English says "1 billing cycles" too: the plural forms are the translations')
        return ngettext("%(num)d billing cycles", "%(num)d billing cycles", cycles) if cycles \
            else _("until cancelled")


@dataclass(frozen=True)
class AddonView:
    addon: Addon
    prices: tuple[AddonPrice, ...]
    subscriptions: int

    @property
    def archived(self) -> bool:
        return self.addon.status == ARCHIVED

    @property
    def kind_label(self) -> str:
        return ADDON_KINDS.get(self.addon.kind, self.addon.kind)


@dataclass(frozen=True)
class CouponView:
    coupon: Coupon
    amounts: tuple[CouponAmount, ...]
    plan_names: tuple[str, ...]  # empty: every plan

    @property
    def archived(self) -> bool:
        return self.coupon.status == ARCHIVED

    @property
    def percent_label(self) -> str | None:
        """"15 %" for a percentage coupon; None for a fixed one (its amounts are listed)."""
        bp = self.coupon.percent_bp
        return f"{format_percent(bp)} %" if bp is not None else None

    @property
    def duration_label(self) -> str:
        if self.coupon.duration == "n_terms":
            return ngettext("%(num)d terms", "%(num)d terms", self.coupon.duration_terms)
        return DURATIONS.get(self.coupon.duration, self.coupon.duration)


@dataclass(frozen=True)
class Catalog:
    plans: tuple[PlanView, ...]
    addons: tuple[AddonView, ...]
    coupons: tuple[CouponView, ...]


def _grouped(rows, key) -> dict[int, list]:
    grouped: dict[int, list] = defaultdict(list)
    for row in rows:
        grouped[getattr(row, key)].append(row)
    return grouped


def _counts(session: Session, column) -> dict[int, int]:
    return dict(session.exec(select(column, func.count()).group_by(column)).all())


def plan_views(session: Session, *plan_ids: int) -> tuple[PlanView, ...]:
    query = select(Plan).order_by(Plan.status, func.lower(Plan.name), Plan.id)
    if plan_ids:
        query = query.where(col(Plan.id).in_(plan_ids))
    plans = session.exec(query).all()
    prices = _grouped(session.exec(select(PlanPrice).order_by(PlanPrice.currency)), "plan_id")
    used = _counts(session, Subscription.plan_id)
    return tuple(PlanView(p, tuple(prices[p.id]), used.get(p.id, 0)) for p in plans)


def addon_views(session: Session, *addon_ids: int) -> tuple[AddonView, ...]:
    query = select(Addon).order_by(Addon.status, func.lower(Addon.name), Addon.id)
    if addon_ids:
        query = query.where(col(Addon.id).in_(addon_ids))
    addons = session.exec(query).all()
    prices = _grouped(session.exec(select(AddonPrice).order_by(AddonPrice.currency)), "addon_id")
    used = _counts(session, SubscriptionAddon.addon_id)
    return tuple(AddonView(a, tuple(prices[a.id]), used.get(a.id, 0)) for a in addons)


def coupon_views(session: Session, *coupon_ids: int) -> tuple[CouponView, ...]:
    query = select(Coupon).order_by(Coupon.status, Coupon.code)
    if coupon_ids:
        query = query.where(col(Coupon.id).in_(coupon_ids))
    coupons = session.exec(query).all()
    amounts = _grouped(session.exec(select(CouponAmount).order_by(CouponAmount.currency)),
                       "coupon_id")
    names: dict[int, list[str]] = defaultdict(list)
    for coupon_id, name in session.exec(select(CouponPlan.coupon_id, Plan.name)
                                        .join(Plan, Plan.id == CouponPlan.plan_id)
                                        .order_by(Plan.name)):
        names[coupon_id].append(name)
    return tuple(CouponView(c, tuple(amounts[c.id]), tuple(names[c.id])) for c in coupons)


def catalog(session: Session) -> Catalog:
    """Every plan, addon and coupon, active first (a fixed number of queries)."""
    return Catalog(plan_views(session), addon_views(session), coupon_views(session))


def active_plans(session: Session, currency: str) -> tuple[tuple[Plan, PlanPrice], ...]:
    """Plans a new subscription in `currency` may choose: active and priced in it."""
    return tuple(session.exec(select(Plan, PlanPrice).join(PlanPrice, PlanPrice.plan_id == Plan.id)
                              .where(Plan.status == ACTIVE, PlanPrice.currency == currency)
                              .order_by(PlanPrice.amount, Plan.id)).all())


def active_addons(session: Session, currency: str) -> tuple[tuple[Addon, AddonPrice], ...]:
    """Recurring addons a new subscription in `currency` may choose."""
    return tuple(session.exec(select(Addon, AddonPrice).join(AddonPrice, AddonPrice.addon_id == Addon.id)
                              .where(Addon.status == ACTIVE, Addon.kind == "recurring",
                                     AddonPrice.currency == currency)
                              .order_by(func.lower(Addon.name), Addon.id)).all())


# --- Archive and restore ----------------------------------------------------------------------

KINDS = {"plan": Plan, "addon": Addon, "coupon": Coupon}


def set_status(session: Session, *, actor: Actor, kind: str, item_id: int, archived: bool,
               now: datetime):
    """Archive an item (no new subscriptions choose it) or make it active again; audited."""
    model = KINDS[kind]
    item = get_item(session, model, item_id)
    status = ARCHIVED if archived else ACTIVE
    if item.status != status:
        before = item.status
        item.status = status
        record(session, actor, f"{kind}.{'archive' if archived else 'restore'}", kind,
               item.id, {"status": before}, {"status": status}, now)
    session.flush()
    views = {"plan": plan_views, "addon": addon_views, "coupon": coupon_views}[kind]
    return views(session, item.id)[0]


# --- Choosing for a new subscription ----------------------------------------------------------

def usable_coupon(session: Session, *, code: str, plan_id: int, currency: str,
                  at: Moment) -> Coupon:
    """An active coupon that can go on a new subscription to this plan in this currency."""
    coupon = session.exec(select(Coupon).where(Coupon.code == coupon_code(code))).first()
    if coupon is None or coupon.status != ACTIVE:
        raise InvalidInput(_("Unknown coupon code “%(code)s”.", code=code), field="coupon_code")
    if coupon.expires_on is not None and coupon.expires_on < at.today:
        raise InvalidInput(_("Coupon %(code)s has expired.", code=coupon.code),
                           field="coupon_code")
    if coupon.max_redemptions is not None and coupon.redemptions >= coupon.max_redemptions:
        raise InvalidInput(_("Coupon %(code)s has been used up.", code=coupon.code),
                           field="coupon_code")
    plans = set(session.exec(select(CouponPlan.plan_id).where(CouponPlan.coupon_id == coupon.id)))
    if plans and plan_id not in plans:
        raise InvalidInput(_("Coupon %(code)s does not apply to this plan.", code=coupon.code),
                           field="coupon_code")
    if coupon.discount_type == "fixed" and session.exec(select(CouponAmount.id).where(
            CouponAmount.coupon_id == coupon.id, CouponAmount.currency == currency)).first() is None:
        raise InvalidInput(_("Coupon %(code)s has no amount in %(currency)s.",
                             code=coupon.code, currency=currency), field="coupon_code")
    return coupon


def redeem(session: Session, coupon: Coupon) -> None:
    """Count one redemption, unless the limit was reached meanwhile (a guarded update)."""
    if not count_redemption(session, coupon.id):
        raise InvalidInput(_("Coupon %(code)s has been used up.", code=coupon.code),
                           field="coupon_code")


def coupon_plan_ids(session: Session, coupon_id: int) -> list[int]:
    return sorted(session.exec(select(CouponPlan.plan_id).where(CouponPlan.coupon_id == coupon_id)))

