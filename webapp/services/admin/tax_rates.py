"""The rate table the admin keeps (issue 30): a rate per country, or per region of a country,
with the label its invoice lines show. `billing.tax.tax_for` reads it: a region's rate beats
its country's, which beats the organization's default rate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from webapp.models import TaxRate
from webapp.services.admin import Actor
from webapp.services.billing import tax
from webapp.services.core import audit, places
from webapp.services.core.errors import InvalidInput, NotFound
from webapp.services.core.i18n import _
from webapp.services.core.preferences import InvalidChanges, format_percent, parse_percent


@dataclass(frozen=True)
class RateInput:
    country: str
    region: str
    rate: str  # a percentage as typed ("7.25")
    label: str

    @classmethod
    def of(cls, row: TaxRate) -> RateInput:
        return cls(row.country, row.region, format_percent(row.rate_bp), row.label)


def list_rates(session: Session) -> tuple[TaxRate, ...]:
    """Every rate, by country then region (the country's own first)."""
    return tuple(session.exec(select(TaxRate).order_by(TaxRate.country, TaxRate.region)))


def get_rate(session: Session, rate_id: int) -> TaxRate:
    row = session.get(TaxRate, rate_id)
    if row is None:
        raise NotFound(_("No such tax rate."))
    return row


def _clean(session: Session, data: RateInput, rate_id: int | None) -> dict:
    """The input as stored, or InvalidChanges with a message per field."""
    errors: dict[str, str] = {}
    try:
        country = places.clean_country(data.country)
    except ValueError as exc:
        errors["country"], country = str(exc), ""
    if not country and "country" not in errors:
        errors["country"] = _("Enter the country, a two-letter code such as DE or US.")
    region = " ".join((data.region or "").split()).upper()
    if len(region) > 50:
        errors["region"] = _("Use at most 50 characters.")
    try:
        rate_bp = parse_percent(data.rate)
    except InvalidInput as exc:
        errors["rate"], rate_bp = exc.message, None
    if rate_bp is None and "rate" not in errors:
        errors["rate"] = _("Enter the rate, a percentage such as 20 or 7.25.")
    elif rate_bp is not None and not 0 <= rate_bp <= 10_000:
        errors["rate"] = _("Enter a rate from 0 to 100 %.")
    label = " ".join((data.label or "").split())
    if not label:
        errors["label"] = _("Name the tax, such as VAT or Sales tax (invoices show it per line).")
    elif len(label) > 50:
        errors["label"] = _("Use at most 50 characters.")
    if not errors:
        taken = session.exec(select(TaxRate.id).where(
            TaxRate.country == country, TaxRate.region == region)).first()
        if taken is not None and taken != rate_id:
            errors["region" if region else "country"] = \
                _("This place has a rate already: edit that one.")
    if errors:
        raise InvalidChanges(errors)
    return {"country": country, "region": region, "rate_bp": rate_bp, "label": label}


def _audit(session: Session, actor: Actor, action: str, row: TaxRate, before: dict,
           after: dict, now: datetime) -> None:
    audit.record(session, actor_user_id=actor.user_id, actor_label=actor.label, action=action,
                 subject_type="tax_rate", subject_id=row.id, before=before, after=after, now=now)
    tax.forget_rates(session)  # this session's next tax_for reads the table again


def add_rate(session: Session, *, actor: Actor, data: RateInput, now: datetime) -> TaxRate:
    values = _clean(session, data, None)
    row = TaxRate(**values)
    session.add(row)
    session.flush()
    _audit(session, actor, "tax_rate.create", row, {}, values, now)
    return row


def update_rate(session: Session, *, actor: Actor, rate_id: int, data: RateInput,
                now: datetime) -> TaxRate:
    row = get_rate(session, rate_id)
    values = _clean(session, data, rate_id)
    before = {k: getattr(row, k) for k in values}
    for key, value in values.items():
        setattr(row, key, value)
    session.flush()
    _audit(session, actor, "tax_rate.update", row, before, values, now)
    return row


def delete_rate(session: Session, *, actor: Actor, rate_id: int, now: datetime) -> None:
    row = get_rate(session, rate_id)
    before = {"country": row.country, "region": row.region, "rate_bp": row.rate_bp,
              "label": row.label}
    session.delete(row)
    session.flush()
    _audit(session, actor, "tax_rate.delete", row, before, {}, now)
