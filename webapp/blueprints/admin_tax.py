"""Back office: the tax rates by place (add, edit, delete); htmx swaps the table and form."""

from __future__ import annotations

from flask import Blueprint, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import StringField

from webapp.blueprints.admin_forms import actor
from webapp.context import now
from webapp.db import db
from webapp.forms import FlaskForm
from webapp.htmx import form_errors, render_page, swap_or_redirect
from webapp.login import admin_required
from webapp.services.admin import tax_rates
from webapp.services.core.errors import InvalidInput

bp = Blueprint("admin_tax", __name__, url_prefix="/admin/tax-rates")

PARTIAL = "admin_tax_rates"


class RateForm(FlaskForm):
    country = StringField(_l("Country"))
    region = StringField(_l("Region"))
    rate = StringField(_l("Rate (%)"))
    label = StringField(_l("Label"))

    def values(self) -> tax_rates.RateInput:
        return tax_rates.RateInput(self.country.data or "", self.region.data or "",
                                   self.rate.data or "", self.label.data or "")


def _context(form: RateForm, editing: int | None = None, **extra) -> dict:
    return {"rates": tax_rates.list_rates(db.session), "form": form, "editing": editing} | extra


def _done(message: str):
    return swap_or_redirect(PARTIAL, redirect_to=url_for(".index"), message=message,
                            **_context(RateForm(formdata=None)))


@bp.get("")
@admin_required
def index():
    """The rate table, with the form to add a rate."""
    return render_page("admin/tax/rates.html", PARTIAL, **_context(RateForm(formdata=None)))


@bp.post("")
@admin_required
def add():
    """Add a rate; the messages next to the fields when it cannot be used (422)."""
    form = RateForm()
    if form.validate_on_submit():
        try:
            row = tax_rates.add_rate(db.session, actor=actor(), data=form.values(), now=now())
        except InvalidInput as exc:
            form.show(exc)
        else:
            db.session.commit()
            place = f"{row.country} {row.region}" if row.region else row.country
            return _done(_("Tax rate for %(place)s added.", place=place))
    return form_errors("admin/tax/rates.html", PARTIAL, **_context(form))


@bp.get("/<int:rate_id>/edit")
@admin_required
def edit(rate_id: int):
    """The same page with the form filled in with one rate."""
    row = tax_rates.get_rate(db.session, rate_id)
    form = RateForm(formdata=None, data=tax_rates.RateInput.of(row).__dict__)
    return render_page("admin/tax/rates.html", PARTIAL, **_context(form, row.id))


@bp.post("/<int:rate_id>")
@admin_required
def update(rate_id: int):
    """Save a rate's changes; the messages next to the fields when they cannot be used."""
    tax_rates.get_rate(db.session, rate_id)  # 404 first
    form = RateForm()
    if form.validate_on_submit():
        try:
            tax_rates.update_rate(db.session, actor=actor(), rate_id=rate_id,
                                  data=form.values(), now=now())
        except InvalidInput as exc:
            form.show(exc)
        else:
            db.session.commit()
            return _done(_("Tax rate saved."))
    return form_errors("admin/tax/rates.html", PARTIAL, **_context(form, rate_id))


@bp.post("/<int:rate_id>/delete")
@admin_required
def delete(rate_id: int):
    """Delete a rate: its place pays its country's rate, or the organization's, from now on."""
    RateForm().validate_on_submit()  # the CSRF check runs for every POST
    tax_rates.delete_rate(db.session, actor=actor(), rate_id=rate_id, now=now())
    db.session.commit()
    return _done(_("Tax rate deleted."))
