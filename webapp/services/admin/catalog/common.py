"""What the catalog's editors share: codes, typed prices, checks and the audit record."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from sqlmodel import Session, col, select

from webapp.models import Subscription
from webapp.services.admin import Actor
from webapp.services.core import audit, state_machine
from webapp.services.core.errors import NotFound
from webapp.services.core.i18n import _
from webapp.services.core.money import SUPPORTED_CURRENCIES, parse_money

ACTIVE, ARCHIVED = "active", "archived"
INTERVAL_UNITS = {"day": _("Day"), "week": _("Week"), "month": _("Month"), "year": _("Year")}
ADDON_KINDS = {"recurring": _("Recurring"), "one_time": _("One-time")}
DISCOUNT_TYPES = {"percentage": _("Percentage"), "fixed": _("Fixed amount")}
DURATIONS = {"once": _("Once"), "n_terms": _("A number of terms"), "forever": _("Forever")}
CODE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
COUPON_CODE = re.compile(r"^[A-Z0-9][A-Z0-9._-]*$")


def plan_code(text: str | None) -> str:
    """Plan and addon codes are lower-case (imports match them the same way)."""
    return (text or "").strip().lower()


def coupon_code(text: str | None) -> str:
    """Coupon codes are upper-case: customers type them in any case."""
    return (text or "").strip().upper()


def get_item(session: Session, model, item_id: int):
    item = session.get(model, item_id)
    if item is None:
        raise NotFound(_("No such catalog item."))
    return item


# --- Prices typed per currency ----------------------------------------------------------------

def parse_prices(raw: Mapping[str, str], errors: dict[str, str], prefix: str,
                 *, allow_zero: bool = True) -> dict[str, int]:
    """{currency: minor units} from fields named `<prefix>_<CUR>`; blank means not sold in it."""
    prices = {}
    for currency in SUPPORTED_CURRENCIES:
        name = f"{prefix}_{currency}"
        text = (raw.get(currency) or "").strip()
        if not text:
            continue
        try:
            amount = parse_money(text, currency)
        except ValueError as exc:
            errors[name] = str(exc)
            continue
        if amount < 0 or (amount == 0 and not allow_zero):
            errors[name] = _("Enter an amount above zero.") if not allow_zero else \
                _("Enter an amount of zero or more.")
            continue
        prices[currency] = amount
    return prices


def whole_number(errors: dict, name: str, text: str | None, *, low: int, high: int,
                 required: bool = True) -> int | None:
    text = (text or "").strip()
    if not text:
        if required:
            errors[name] = _("Enter a whole number.")
        return None
    if not text.isdigit() or not low <= int(text) <= high:
        errors[name] = _("Enter a whole number from %(low)d to %(high)d.", low=low, high=high)
        return None
    return int(text)


def item_name(errors: dict, text: str | None) -> str:
    name = " ".join((text or "").split())
    if not name:
        errors["name"] = _("Enter a name.")
    elif len(name) > 200:
        errors["name"] = _("Use at most 200 characters.")
    return name


def check_code(errors: dict, session: Session, model, code: str, pattern, item_id: int | None) -> None:
    if not code:
        errors["code"] = _("Enter a code.")
    elif len(code) > 64 or not pattern.match(code):
        errors["code"] = _("Use letters, digits, dots, dashes and underscores (at most 64).")
    elif session.exec(select(model.id).where(model.code == code, model.id != (item_id or 0))).first():
        errors["code"] = _("Another item already has this code.")


def in_use_currencies(session: Session, *conditions) -> set[str]:
    """Currencies of subscriptions that can still bill and match `conditions`."""
    return set(session.exec(select(Subscription.currency).where(
        col(Subscription.status).in_(state_machine.ALL_LIVE_STATES), *conditions).distinct()))


def record(session: Session, actor: Actor, action: str, subject_type: str, subject_id: int,
           before: dict, after: dict, now: datetime) -> None:
    audit.record(session, actor_user_id=actor.user_id, actor_label=actor.label, action=action,
                 subject_type=subject_type, subject_id=subject_id, before=before, after=after,
                 now=now)



def audited_update(session: Session, *, actor: Actor, item, kind: str, values: dict,
                   write_prices, snapshot, now: datetime):
    """Set an item's fields and prices, then audit what changed (nothing changed: no entry)."""
    before = snapshot(session, item)
    prices = values.pop("prices")
    for name, value in values.items():
        setattr(item, name, value)
    write_prices(session, item, prices)
    session.flush()
    old, new = audit.diff(before, snapshot(session, item))
    if new:
        record(session, actor, f"{kind}.update", kind, item.id, old, new, now)
    return item
