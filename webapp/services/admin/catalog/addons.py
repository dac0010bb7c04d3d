"""Addons: one-time or recurring, with a price per unit in each currency."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, select

from webapp.models import Addon, AddonPrice, Subscription, SubscriptionAddon
from webapp.services.admin import Actor
from webapp.services.admin.catalog.common import (
    ACTIVE,
    ADDON_KINDS,
    CODE,
    audited_update,
    check_code,
    get_item,
    in_use_currencies,
    item_name,
    parse_prices,
    plan_code,
    record,
)
from webapp.services.core.i18n import _
from webapp.services.core.money import SUPPORTED_CURRENCIES
from webapp.services.core.preferences import InvalidChanges


@dataclass(frozen=True)
class AddonInput:
    code: str
    name: str
    kind: str = "recurring"
    unit_name: str = "unit"
    prices: Mapping[str, str] = field(default_factory=dict)


def _addon_snapshot(session: Session, addon: Addon) -> dict:
    prices = session.exec(select(AddonPrice).where(AddonPrice.addon_id == addon.id)
                          .order_by(AddonPrice.currency)).all()
    return {"code": addon.code, "name": addon.name, "kind": addon.kind,
            "unit_name": addon.unit_name, "prices": {p.currency: p.unit_amount for p in prices}}


def _addon_values(session: Session, data: AddonInput, addon: Addon | None) -> dict:
    errors: dict[str, str] = {}
    code = addon.code if addon else plan_code(data.code)
    if addon is None:
        check_code(errors, session, Addon, code, CODE, None)
    kind = addon.kind if addon else data.kind
    if kind not in ADDON_KINDS:
        errors["kind"] = _("Choose recurring or one-time.")
    name = item_name(errors, data.name)
    unit = " ".join((data.unit_name or "unit").split())[:32] or "unit"
    prices = parse_prices(data.prices, errors, "price", allow_zero=False)
    if not prices and not any(k.startswith("price_") for k in errors):
        errors["price_" + SUPPORTED_CURRENCIES[0]] = _("Price the addon in at least one "
                                                       "currency.")
    if addon is not None:
        using = Subscription.id.in_(select(SubscriptionAddon.subscription_id).where(
            SubscriptionAddon.addon_id == addon.id))
        for currency in in_use_currencies(session, using) - set(prices):
            errors[f"price_{currency}"] = _("Subscriptions bill it in %(currency)s: keep a "
                                            "price.", currency=currency)
    if errors:
        raise InvalidChanges(errors)
    return {"code": code, "name": name, "kind": kind, "unit_name": unit,
            "prices": prices}


def _write_addon_prices(session: Session, addon: Addon, prices: dict[str, int]) -> None:
    existing = {p.currency: p for p in session.exec(select(AddonPrice).where(
        AddonPrice.addon_id == addon.id))}
    for currency, row in existing.items():
        if currency not in prices:
            session.delete(row)
    session.flush()
    for currency, amount in prices.items():
        if currency in existing:
            existing[currency].unit_amount = amount
        else:
            session.add(AddonPrice(addon_id=addon.id, currency=currency, unit_amount=amount))


def create_addon(session: Session, *, actor: Actor, data: AddonInput, now: datetime) -> Addon:
    """A new, active addon with its prices; audited."""
    values = _addon_values(session, data, None)
    prices = values.pop("prices")
    addon = Addon(status=ACTIVE, created_at=now, **values)
    session.add(addon)
    session.flush()
    _write_addon_prices(session, addon, prices)
    session.flush()
    record(session, actor, "addon.create", "addon", addon.id, {},
           _addon_snapshot(session, addon), now)
    return addon


def update_addon(session: Session, *, actor: Actor, addon_id: int, data: AddonInput,
                 now: datetime) -> Addon:
    """Change an addon's name, unit and prices (its code and kind stay); audited."""
    addon = get_item(session, Addon, addon_id)
    return audited_update(session, actor=actor, item=addon, kind="addon",
                          values=_addon_values(session, data, addon),
                          write_prices=_write_addon_prices, snapshot=_addon_snapshot, now=now)

