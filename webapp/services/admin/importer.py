"""CSV import of customers and of subscriptions, for moving in from another system.

Every row is checked before anything is written: a dry run lists each bad row by its line in
the file (the header is line 1) and the reason; a real run writes nothing unless every row
passes, and then writes them all in the caller's one transaction. The rows obey the same checks
as the admin's forms (`customers.check_customer`, the catalog's coupon rules).

Imported subscriptions that started on or before today are moving in with their current term
already billed by the previous system: they are live, their term is the one that contains
today (counted in whole intervals from the start, or from the trial's end), and the first
invoice here is their next renewal. Those that start later are `future`; a trial that has not
ended is `trial`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func
from sqlmodel import Session, select

from webapp.models import Addon, AddonPrice, Coupon, Customer, Organization, Plan, PlanPrice
from webapp.services.admin import Actor, LinkSettings
from webapp.services.admin import catalog as admin_catalog
from webapp.services.admin import customers as admin_customers
from webapp.services.admin import subscriptions as admin_subscriptions
from webapp.services.billing.terms import term_end
from webapp.services.core import spreadsheets, text
from webapp.services.core.dates import Moment
from webapp.services.core.errors import InvalidInput
from webapp.services.core.i18n import _
from webapp.services.core.money import SUPPORTED_CURRENCIES

CUSTOMERS, SUBSCRIPTIONS = "customers", "subscriptions"
COLUMNS = {
    CUSTOMERS: ("name", "email", "company", "phone", "currency", "billing_address",
                "shipping_address", "tax_id"),
    SUBSCRIPTIONS: ("customer_email", "plan_code", "start_date", "trial_end", "addons",
                    "coupon_code", "currency"),
}
REQUIRED = {CUSTOMERS: ("name", "email"), SUBSCRIPTIONS: ("customer_email", "plan_code")}
MULTI_LINE = frozenset({"billing_address", "shipping_address"})
MAX_ROWS = 5000


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str


@dataclass(frozen=True)
class ImportReport:
    kind: str
    rows: int  # data rows read (blank lines are skipped)
    errors: tuple[RowError, ...]
    written: int
    dry_run: bool

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _Rows:
    """The data rows with the line each starts on; header problems as errors on line 1."""

    rows: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _read(kind: str, text: str) -> _Rows:
    result = _Rows()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
    if not header:
        result.errors.append(RowError(1, _("the file is empty: the first line names the "
                                           "columns")))
        return result
    reader.fieldnames = header
    missing = [c for c in REQUIRED[kind] if c not in header]
    unknown = [c for c in header if c not in COLUMNS[kind]]
    if missing:
        result.errors.append(RowError(1, _("missing column(s): %(columns)s",
                                           columns=", ".join(missing))))
    if unknown:
        result.errors.append(RowError(1, _("unknown column(s): %(columns)s (use %(known)s)",
                                           columns=", ".join(unknown),
                                           known=", ".join(COLUMNS[kind]))))
    if result.errors:
        return result
    start = reader.line_num + 1
    try:
        for row in reader:
            values = {k: (v or "").strip() for k, v in row.items() if k is not None}
            refused = _refused_cells(values)
            if None in row:
                result.errors.append(RowError(start, _("more values than columns")))
            elif refused:
                result.errors.extend(RowError(start, reason) for reason in refused)
            elif any(values.values()):
                result.rows.append((start, values))
            start = reader.line_num + 1
            if len(result.rows) > MAX_ROWS:
                result.errors.append(RowError(start, _("more than %(most)d rows: split the file",
                                                       most=MAX_ROWS)))
                break
    except csv.Error as exc:
        result.errors.append(RowError(start, _("the CSV cannot be read here (%(reason)s)",
                                               reason=str(exc))))
    return result


def _refused_cells(values: dict[str, str]) -> list[str]:
    """Each cell through the portal's text rules (services/text.py), as a form field would
    be: line breaks become LF; a cell with a character the portal refuses is a reason.
    A cell beginning with "=" is kept as the text typed (it is never evaluated here) and is
    escaped in every CSV the portal writes; a cell the portal escaped ("'=…") is read back
    as it was typed (services/spreadsheets.py)."""
    reasons = []
    for column, value in values.items():
        rule = text.multi_line if column in MULTI_LINE else text.single_line
        try:
            values[column] = rule(spreadsheets.unescape(value))
        except text.TextRefused as refused:
            reasons.append(_("%(column)s: %(reason)s", column=column, reason=refused.message))
    return reasons


def run(session: Session, *, actor: Actor, kind: str, text: str, dry_run: bool, at: Moment,
        links: LinkSettings) -> ImportReport:
    """Check every row; unless it is a dry run and only if every row passes, write them all."""
    if kind not in COLUMNS:
        raise InvalidInput(_("Choose customers or subscriptions."), field="kind")
    read = _read(kind, text)
    check = _check_customers if kind == CUSTOMERS else _check_subscriptions
    valid, errors = check(session, read.rows, at) if not read.errors else ([], [])
    errors = sorted([*read.errors, *errors], key=lambda e: e.line)
    written = 0
    if not dry_run and not errors and valid:
        write = _write_customers if kind == CUSTOMERS else _write_subscriptions
        written = write(session, actor, valid, at.now, links)
    return ImportReport(kind, len(read.rows), tuple(errors), written, dry_run)


# --- Customers --------------------------------------------------------------------------------

_CUSTOMER_FIELDS = {"display_name": "name", "email": "email", "currency": "currency",
                    "company": "company", "phone": "phone", "billing_address": "billing_address",
                    "shipping_address": "shipping_address", "tax_id": "tax_id"}


def _customer_reason(field_name: str, message: str, row: dict[str, str]) -> str:
    column = _CUSTOMER_FIELDS[field_name]
    if field_name == "email":
        return _("bad email “%(value)s”", value=row.get("email", ""))
    if field_name == "currency":
        return _("unknown currency “%(value)s”", value=row.get("currency", ""))
    if field_name == "display_name" and not row.get("name"):
        return _("name is missing")
    return _("%(column)s: %(reason)s", column=column, reason=message)


def _check_customers(session: Session, rows, at: Moment):
    base = session.get(Organization, 1).base_currency
    emails = [r.get("email", "").lower() for _, r in rows]
    existing = set(session.exec(select(func.lower(Customer.email)).where(
        func.lower(Customer.email).in_(emails or [""]))))
    seen: dict[str, int] = {}
    valid, errors = [], []
    for line, row in rows:
        data = admin_customers.CustomerInput(
            display_name=row.get("name", ""), email=row.get("email", ""),
            currency=row.get("currency") or base, company=row.get("company", ""),
            phone=row.get("phone", ""), billing_address=row.get("billing_address", ""),
            shipping_address=row.get("shipping_address", ""), tax_id=row.get("tax_id", ""))
        cleaned, problems = admin_customers.field_errors(data)
        reasons = [_customer_reason(f, m, row) for f, m in problems.items()]
        if "email" not in problems:
            email = cleaned.email.lower()
            if email in seen:
                reasons.append(_("duplicate email %(email)s (also on line %(line)d)",
                                 email=cleaned.email, line=seen[email]))
            elif email in existing:
                reasons.append(_("duplicate: a customer with %(email)s already exists",
                                 email=cleaned.email))
            seen.setdefault(email, line)
        if reasons:
            errors.extend(RowError(line, r) for r in reasons)
        else:
            valid.append(cleaned)
    return valid, errors


def _write_customers(session: Session, actor: Actor, valid, now: datetime,
                     links: LinkSettings) -> int:
    for data in valid:
        admin_customers.add_checked(session, actor=actor, data=data, now=now, links=links,
                                    action="customer.import")
    return len(valid)


# --- Subscriptions ----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Subscription:
    customer: Customer
    plan: Plan
    addons: dict[int, int]
    coupon: Coupon | None
    terms: admin_subscriptions.Terms


@dataclass
class _Lookups:
    customers: dict[str, Customer]
    plans: dict[str, Plan]
    plan_prices: set[tuple[int, str]]
    addons: dict[str, Addon]
    addon_prices: set[tuple[int, str]]
    coupon_uses: dict[int, int] = field(default_factory=dict)


def _lookups(session: Session, rows) -> _Lookups:
    emails = {r.get("customer_email", "").lower() for _, r in rows}
    customers = {c.email.lower(): c for c in session.exec(select(Customer).where(
        func.lower(Customer.email).in_(list(emails) or [""])))}
    return _Lookups(
        customers, {p.code: p for p in session.exec(select(Plan))},
        {(p.plan_id, p.currency) for p in session.exec(select(PlanPrice))},
        {a.code: a for a in session.exec(select(Addon))},
        {(p.addon_id, p.currency) for p in session.exec(select(AddonPrice))})


def _date(text: str, what: str, reasons: list[str]) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        reasons.append(_("bad %(column)s “%(value)s” (use YYYY-MM-DD)", column=what, value=text))
        return None


def _addons(text: str, currency: str, found: _Lookups, reasons: list[str]) -> dict[int, int]:
    quantities: dict[int, int] = {}
    for part in (p.strip() for p in text.split(";") if p.strip()):
        code, _sep, quantity = part.partition(":")
        addon = found.addons.get(admin_catalog.plan_code(code))
        quantity = quantity.strip() or "1"
        if addon is None:
            reasons.append(_("unknown addon code “%(code)s”", code=code.strip()))
        elif addon.status != admin_catalog.ACTIVE or addon.kind != "recurring":
            reasons.append(_("addon %(code)s is not an active recurring addon", code=addon.code))
        elif (addon.id, currency) not in found.addon_prices:
            reasons.append(_("addon %(code)s has no price in %(currency)s", code=addon.code,
                             currency=currency))
        elif quantity.startswith("-") and quantity[1:].isdigit():
            reasons.append(_("negative quantity %(quantity)s for addon %(code)s",
                             quantity=quantity, code=addon.code))
        elif not quantity.isdigit() or int(quantity) > admin_subscriptions.MAX_QUANTITY:
            reasons.append(_("bad quantity “%(quantity)s” for addon %(code)s (0 to %(most)d)",
                             quantity=quantity, code=addon.code,
                             most=admin_subscriptions.MAX_QUANTITY))
        elif int(quantity) > 0:
            quantities[addon.id] = int(quantity)
    return quantities


def _terms(plan: Plan, start: date, trial_end: date | None, today: date,
           reasons: list[str]) -> admin_subscriptions.Terms | None:
    if trial_end is not None and trial_end <= start:
        reasons.append(_("trial_end must be after start_date"))
        return None
    if start > today or (trial_end is not None and trial_end > today):
        anchor = (trial_end or start).day
        if start > today:
            return admin_subscriptions.Terms("future", start, anchor, trial_end=trial_end,
                                             next_billing_date=start)
        return admin_subscriptions.Terms("trial", start, anchor, trial_start=start,
                                         trial_end=trial_end, current_term_start=start,
                                         current_term_end=trial_end, next_billing_date=trial_end)
    # Moving in live: count whole terms from the first paid day to the one containing today.
    first = trial_end or start
    term_start, cycles = first, 1
    while term_end(plan, term_start, first.day) <= today:
        term_start, cycles = term_end(plan, term_start, first.day), cycles + 1
    if plan.billing_cycles is not None and cycles > plan.billing_cycles:
        reasons.append(_("plan %(code)s's %(cycles)d billing cycles ended before today",
                         code=plan.code, cycles=plan.billing_cycles))
        return None
    end = term_end(plan, term_start, first.day)
    return admin_subscriptions.Terms("live", start, first.day, trial_start=start if trial_end else None,
                                     trial_end=trial_end, current_term_start=term_start,
                                     current_term_end=end, next_billing_date=end,
                                     cycles_billed=cycles)


def _subscription_row(session: Session, row: dict[str, str], found: _Lookups, at: Moment,
                      reasons: list[str]) -> _Subscription | None:
    email = admin_customers.clean_email(row.get("customer_email"))
    customer = found.customers.get(email.lower()) if email else None
    if email is None:
        reasons.append(_("bad email “%(value)s”", value=row.get("customer_email", "")))
    elif customer is None:
        reasons.append(_("unknown customer email %(email)s", email=email))
    code = row.get("plan_code", "")
    plan = found.plans.get(admin_catalog.plan_code(code))
    if plan is None:
        reasons.append(_("unknown plan code “%(code)s”", code=code))
    elif plan.status != admin_catalog.ACTIVE:
        reasons.append(_("plan %(code)s is archived", code=plan.code))
    currency = (row.get("currency") or "").upper()
    if currency and currency not in SUPPORTED_CURRENCIES:
        reasons.append(_("unknown currency “%(value)s”", value=row.get("currency")))
    elif customer is not None and currency and currency != customer.currency:
        reasons.append(_("currency %(currency)s differs from the customer's (%(theirs)s)",
                         currency=currency, theirs=customer.currency))
    currency = customer.currency if customer is not None else currency
    if plan is not None and customer is not None and (plan.id, currency) not in found.plan_prices:
        reasons.append(_("plan %(code)s has no price in %(currency)s", code=plan.code,
                         currency=currency))
    start = _date(row.get("start_date", ""), "start_date", reasons) or at.today
    trial_end = _date(row.get("trial_end", ""), "trial_end", reasons)
    addons = _addons(row.get("addons", ""), currency, found, reasons)
    coupon = _coupon(session, row.get("coupon_code", ""), plan, currency, found, at, reasons)
    terms = _terms(plan, start, trial_end, at.today, reasons) if plan is not None else None
    if reasons or customer is None or plan is None or terms is None:
        return None
    return _Subscription(customer, plan, addons, coupon, terms)


def _coupon(session: Session, code: str, plan: Plan | None, currency: str, found: _Lookups,
            at: Moment, reasons: list[str]) -> Coupon | None:
    if not code or plan is None:
        return None
    try:
        coupon = admin_catalog.usable_coupon(session, code=code, plan_id=plan.id,
                                             currency=currency, at=at)
    except InvalidInput as exc:
        reasons.append(exc.message[0].lower() + exc.message[1:].rstrip("."))
        return None
    uses = found.coupon_uses.get(coupon.id, 0) + 1
    if coupon.max_redemptions is not None and coupon.redemptions + uses > coupon.max_redemptions:
        reasons.append(_("coupon %(code)s would be used more than its limit of %(limit)d",
                         code=coupon.code, limit=coupon.max_redemptions))
        return None
    found.coupon_uses[coupon.id] = uses
    return coupon


def _check_subscriptions(session: Session, rows, at: Moment):
    found = _lookups(session, rows)
    seen: dict[tuple, int] = {}
    valid, errors = [], []
    for line, row in rows:
        reasons: list[str] = []
        checked = _subscription_row(session, row, found, at, reasons)
        key = (row.get("customer_email", "").lower(), admin_catalog.plan_code(row.get("plan_code")),
               row.get("start_date", ""))
        if key in seen:
            reasons.append(_("duplicate of line %(line)d", line=seen[key]))
        seen.setdefault(key, line)
        if reasons:
            errors.extend(RowError(line, r) for r in reasons)
        else:
            valid.append(checked)
    return valid, errors


def _write_subscriptions(session: Session, actor: Actor, valid, now: datetime,
                         links: LinkSettings) -> int:
    for row in valid:
        admin_subscriptions.write(session, actor=actor, customer=row.customer, plan=row.plan,
                                  addons=row.addons, coupon=row.coupon, terms=row.terms, now=now,
                                  action="subscription.import")
    return len(valid)


def template_csv(kind: str) -> str:
    """The header line and one example row, for the import page."""
    example = {
        CUSTOMERS: ["Ada Lovelace", "ada@example.com", "Analytical Ltd", "+44 20 7946 0000",
                    "GBP", "1 Main St, London", "", "GB123456789"],
        SUBSCRIPTIONS: ["ada@example.com", "pro-monthly", "2026-12-01", "", "extra-seat:2", "",
                        ""],
    }[kind]
    out = io.StringIO()
    writer = spreadsheets.writer(out, lineterminator="\n")
    writer.writerows([COLUMNS[kind], example])
    return out.getvalue()


__all__ = ["CUSTOMERS", "SUBSCRIPTIONS", "COLUMNS", "RowError", "ImportReport", "run",
           "template_csv"]
