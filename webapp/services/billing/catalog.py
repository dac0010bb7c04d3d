"""Reading the catalog and what a subscription costs, batch-loaded (no query per row)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from sqlalchemy import CTE, Column, FromClause, Join, Row, Select, and_, or_, update
from sqlmodel import Session, select

from webapp.models import (
    Addon,
    AddonPrice,
    Coupon,
    CouponAmount,
    Plan,
    PlanPrice,
    Subscription,
    SubscriptionAddon,
    SubscriptionCoupon,
)
from webapp.services.billing.pricing import Charge, Discount, Priced, price
from webapp.services.billing.tax import Tax
from webapp.services.core import bulk, rows
from webapp.services.core.listing import read


@dataclass(frozen=True)
class AddonLine:
    addon: Addon
    quantity: int
    unit_amount: int | None  # None: not priced in the subscription's currency


@dataclass(frozen=True)
class CouponLine:
    coupon: Coupon
    terms_used: int
    amount: int | None  # fixed coupons: amount in the subscription's currency
    in_current_term: bool = False  # counted for the current term (it discounts its prorations)

    @property
    def active(self) -> bool:
        """Whether the coupon still discounts the next term."""
        if self.coupon.duration == "once":
            return self.terms_used < 1
        if self.coupon.duration == "n_terms":
            return self.terms_used < (self.coupon.duration_terms or 0)
        return True

    def discount(self) -> Discount:
        return Discount(self.coupon.code, self.coupon.name, self.coupon.percent_bp, self.amount)


@dataclass(frozen=True)
class SubscriptionItems:
    """A subscription's plan price, addons and coupons in its currency."""

    plan: Plan
    plan_price: PlanPrice | None
    addons: tuple[AddonLine, ...]
    coupons: tuple[CouponLine, ...]

    def recurring_charges(self) -> list[Charge]:
        charges = []
        if self.plan_price is not None:
            charges.append(Charge("plan", self.plan.name, 1, self.plan_price.amount))
        for line in self.addons:
            if line.addon.kind == "recurring" and line.unit_amount is not None:
                charges.append(Charge("addon", line.addon.name, line.quantity, line.unit_amount))
        return charges

    def next_term_price(self, tax: Tax) -> Priced:
        """What the next renewal costs with the coupons still active."""
        discounts = [c.discount() for c in self.coupons if c.active]
        return price(self.recurring_charges(), discounts, tax=tax)


_PLAN_TABLES = (Plan.__table__, PlanPrice.__table__)
_SUBSCRIPTIONS = Subscription.__table__
PlanOf = tuple  # (plan row, its price in the subscription's currency or None)


# What a list's row shows and prices (`SubscriptionRow.of`, `next_term_price`), and no more:
# the lists' one statement (the dashboard's renewals, the customer's and the admin's
# subscription lists) reads these columns rather than whole rows: the dashboard's renewals 20 columns a row, not 50.
# Each column was a value PostgreSQL wrote as JSON and the portal read back (core/rows.Some,
# issue 32). A list that starts showing another column adds it here; until then reading it
# is an AttributeError, which the lists' tests meet.
LISTED_SUBSCRIPTION = rows.Some(
    _SUBSCRIPTIONS, "id", "number", "customer_id", "plan_id", "currency", "status",
    "expired_reason", "start_date", "current_term_end", "next_billing_date", "pause_on",
    "resume_on")
_LISTED_PLAN = (rows.Some(Plan.__table__, "id", "name", "interval_unit", "interval_count"),
                rows.Some(PlanPrice.__table__, "id", "plan_id", "currency", "amount"))
_LISTED_ADDONS = (
    rows.Some(SubscriptionAddon.__table__, "id", "subscription_id", "addon_id", "quantity"),
    rows.Some(Addon.__table__, "id", "name", "kind"),
    rows.Some(AddonPrice.__table__, "id", "addon_id", "currency", "unit_amount"))
_LISTED_COUPONS = (
    rows.Some(SubscriptionCoupon.__table__, "id", "subscription_id", "coupon_id", "terms_used",
              "in_current_term"),
    rows.Some(Coupon.__table__, "id", "code", "name", "percent_bp", "duration",
              "duration_terms"),
    rows.Some(CouponAmount.__table__, "id", "coupon_id", "currency", "amount"))


def listed_columns() -> list[Column]:
    """A list row's subscription, plan and price columns (`LISTED_SUBSCRIPTION`), for
    `with_plan`."""
    return rows.columns(LISTED_SUBSCRIPTION, *_LISTED_PLAN)


def join_plan(subscriptions: FromClause = _SUBSCRIPTIONS) -> Join:
    """Subscriptions joined to their plan and the plan's price in their currency: a list
    reads them with its own statement instead of a statement more."""
    return (subscriptions.join(Plan.__table__, Plan.id == Subscription.plan_id)
            .outerjoin(PlanPrice.__table__, and_(PlanPrice.plan_id == Plan.id,
                                                 PlanPrice.currency == Subscription.currency)))


def with_plan(row: Row) -> tuple[tuple, PlanOf]:
    """A row of `select(*listed_columns())` as the subscription and (plan, price)."""
    subscription, plan, plan_price = rows.split(row, LISTED_SUBSCRIPTION, *_LISTED_PLAN)
    return subscription, (plan, plan_price)


_ADDON_TABLES = (SubscriptionAddon.__table__, Addon.__table__, AddonPrice.__table__)
_COUPON_TABLES = (SubscriptionCoupon.__table__, Coupon.__table__, CouponAmount.__table__)
_ADDONS_JOIN = (SubscriptionAddon.__table__.join(Addon, Addon.id == SubscriptionAddon.addon_id)
                .outerjoin(AddonPrice, AddonPrice.addon_id == Addon.id))
_COUPONS_JOIN = (SubscriptionCoupon.__table__.join(Coupon, Coupon.id == SubscriptionCoupon.coupon_id)
                 .outerjoin(CouponAmount, CouponAmount.coupon_id == Coupon.id))


@cache
def _items_statements(dialect: str) -> tuple[Select, Select, Select]:
    """The plans, addons and coupons statements, built once per dialect (the ids are
    parameters). They read rows, not entities: the items are only read."""
    return (
        select(*rows.columns(*_PLAN_TABLES))
        .select_from(Plan.__table__.outerjoin(PlanPrice, PlanPrice.plan_id == Plan.id))
        .where(bulk.among_param(dialect, Plan.id, "plan_ids")),
        select(*rows.columns(*_ADDON_TABLES)).select_from(_ADDONS_JOIN)
        .where(bulk.among_param(dialect, SubscriptionAddon.subscription_id, "sub_ids"))
        .order_by(SubscriptionAddon.id),
        select(*rows.columns(*_COUPON_TABLES)).select_from(_COUPONS_JOIN)
        .where(bulk.among_param(dialect, SubscriptionCoupon.subscription_id, "sub_ids"))
        .order_by(SubscriptionCoupon.id),
    )


def items_with_plans(session: Session, found: Sequence[tuple[tuple, PlanOf]],
                     ) -> tuple[list, dict[int, SubscriptionItems]]:
    """`with_plan`'s (subscription, (plan, price)) pairs as the subscriptions and their
    items, without reading the plans again."""
    subscriptions = [sub for sub, _ in found]
    return subscriptions, subscription_items(session, subscriptions,
                                             {sub.id: plan for sub, plan in found})


def subscription_items(session: Session, subscriptions: list[Subscription],
                       plans_of: Mapping[int, PlanOf] | None = None,
                       ) -> dict[int, SubscriptionItems]:
    """Items of many subscriptions in three queries, whatever their number; two when the
    caller read each subscription's plan with it (`plans_of`: subscription id → `with_plan`'s
    (plan, price))."""
    if not subscriptions:
        return {}
    plans_statement, addons_of, coupons_of = _items_statements(session.get_bind().dialect.name)
    ids = {"plan_ids": list({s.plan_id for s in subscriptions}),
           "sub_ids": [s.id for s in subscriptions]}
    plan_rows = (list(plans_of.values()) if plans_of is not None else
                 [rows.split(r, *_PLAN_TABLES) for r in read(session, plans_statement, ids)])
    return items_of(subscriptions, plan_rows, read(session, addons_of, ids).all(),
                    read(session, coupons_of, ids).all())


def items_of(subscriptions: Sequence, plan_rows: Sequence[PlanOf], addon_rows: Iterable,
             coupon_rows: Iterable, *, listed: bool = False) -> dict[int, SubscriptionItems]:
    """The subscriptions' items from rows already read: (plan, price) pairs, and the rows of
    `addons_of`'s and `coupons_of`'s statements, or, `listed`, of `items_statements_for`'s
    (a page's stacked read of them)."""
    addon_tables, coupon_tables = ((_LISTED_ADDONS, _LISTED_COUPONS) if listed else
                                   (_ADDON_TABLES, _COUPON_TABLES))
    plans = {plan.id: plan for plan, _ in plan_rows}
    plan_prices = {(p.plan_id, p.currency): p for _, p in plan_rows if p is not None}
    currency = {s.id: s.currency for s in subscriptions}
    addons: dict[int, dict[int, AddonLine]] = defaultdict(dict)
    for row in addon_rows:
        link, addon, addon_price = rows.split(row, *addon_tables)
        key = link.subscription_id
        known = addons[key].get(addon.id)
        matches = addon_price is not None and addon_price.currency == currency[key]
        if known is None or matches:
            addons[key][addon.id] = AddonLine(addon, link.quantity,
                                              addon_price.unit_amount if matches else None)
    coupons: dict[int, dict[int, CouponLine]] = defaultdict(dict)
    for row in coupon_rows:
        link, coupon, amount = rows.split(row, *coupon_tables)
        key = link.subscription_id
        matches = amount is not None and amount.currency == currency[key]
        if coupon.id not in coupons[key] or matches:
            coupons[key][coupon.id] = CouponLine(coupon, link.terms_used,
                                                 amount.amount if matches else None,
                                                 link.in_current_term)
    return {
        s.id: SubscriptionItems(plans[s.plan_id], plan_prices.get((s.plan_id, s.currency)),
                                tuple(addons[s.id].values()), tuple(coupons[s.id].values()))
        for s in subscriptions
    }


def items_statements_for(page: CTE) -> tuple[Select, Select]:
    """The addons and coupons statements of a page's subscriptions (its CTE, with each
    subscription's `id` first), for a page that reads them in its own statement
    (core/stacked): the listed columns, for `items_of(..., listed=True)`. Each item comes
    with its price in its subscription's currency only, or none: joined to every currency's
    price, the dashboard's 8 addons were 16 rows (issue 32). The currency is read from the
    subscription's row, found by the CTE's ids: joined to the CTE itself, SQLite read every
    subscription's addons (`bench.explain --db sqlite`)."""
    ids = select(page.c.id)
    return _listed_items(_LISTED_ADDONS, ids), _listed_items(_LISTED_COUPONS, ids)


def _listed_items(tables: tuple[rows.Some, ...], ids: Select) -> Select:
    """One kind of item (the link, the item, its price: `_LISTED_ADDONS` or
    `_LISTED_COUPONS`) of the subscriptions `ids` selects, in the links' order."""
    link, item, price = (some.table for some in tables)
    item_id = f"{item.name}_id"  # addon_id, coupon_id: the link's and the price's column
    return (select(*rows.columns(*tables))
            .select_from(_SUBSCRIPTIONS.join(link, link.c.subscription_id == Subscription.id)
                         .join(item, item.c.id == link.c[item_id])
                         .outerjoin(price, and_(price.c[item_id] == item.c.id,
                                                price.c.currency == Subscription.currency)))
            .where(Subscription.id.in_(ids))
            .order_by(link.c.id))


def redeem(session: Session, coupon_id: int) -> bool:
    """Count one redemption of the coupon unless its limit is reached (a guarded update, so
    racing redemptions cannot pass the limit); False when it is used up. Every path that puts
    a coupon on a subscription counts it here."""
    taken = session.execute(
        update(Coupon).where(Coupon.id == coupon_id, or_(
            Coupon.max_redemptions.is_(None), Coupon.redemptions < Coupon.max_redemptions))
        .values(redemptions=Coupon.redemptions + 1).execution_options(synchronize_session=False))
    coupon = session.get(Coupon, coupon_id)
    if coupon is not None:
        session.refresh(coupon, ["redemptions"])
    return taken.rowcount == 1
