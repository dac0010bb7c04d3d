"""Back office: the catalog — plans, addons and coupons; archive and restore."""

from __future__ import annotations

from flask import Blueprint, abort, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.blueprints.admin_forms import (
    actor,
    labelled,
    money_fields,
    money_rows,
    money_values,
    options,
)
from webapp.context import moment, now
from webapp.db import db
from webapp.forms import FlaskForm
from webapp.htmx import finish, render_page, swap_or_redirect
from webapp.login import admin_required
from webapp.models import Addon, Coupon, Plan
from webapp.services.admin import catalog
from webapp.services.core.errors import InvalidInput, NotFound
from webapp.services.core.money import to_decimal
from webapp.services.core.preferences import format_percent

bp = Blueprint("admin_catalog", __name__, url_prefix="/admin/catalog")


class PlanForm(FlaskForm):
    code = StringField(_l("Code"))
    name = StringField(_l("Name"))
    description = TextAreaField(_l("Description"))
    interval_count = StringField(_l("Billed every"), default="1")
    interval_unit = SelectField(_l("Interval"), choices=labelled(catalog.INTERVAL_UNITS.items()),
                                validate_choice=False)
    billing_cycles = StringField(_l("Billing cycles"))
    trial_days = StringField(_l("Trial days"), default="0")

    def values(self) -> catalog.PlanInput:
        return catalog.PlanInput(
            code=self.code.data or "", name=self.name.data or "",
            description=self.description.data or "", interval_unit=self.interval_unit.data,
            interval_count=self.interval_count.data or "", trial_days=self.trial_days.data or "",
            billing_cycles=self.billing_cycles.data or "", prices=money_values(self, "price"),
            setup_fees=money_values(self, "setup"))


money_fields(PlanForm, "price", _l("Price"))
money_fields(PlanForm, "setup", _l("Setup fee"))


class AddonForm(FlaskForm):
    code = StringField(_l("Code"))
    name = StringField(_l("Name"))
    kind = RadioField(_l("Kind"), choices=labelled(catalog.ADDON_KINDS.items()),
                      default="recurring", validate_choice=False)
    unit_name = StringField(_l("Unit"), default="unit")

    def values(self) -> catalog.AddonInput:
        return catalog.AddonInput(self.code.data or "", self.name.data or "",
                                  self.kind.data or "", self.unit_name.data or "",
                                  money_values(self, "price"))


money_fields(AddonForm, "price", _l("Price per unit"))


class CouponForm(FlaskForm):
    code = StringField(_l("Code"))
    name = StringField(_l("Name"))
    discount_type = RadioField(_l("Discount"), choices=labelled(catalog.DISCOUNT_TYPES.items()),
                               default="percentage", validate_choice=False)
    percent = StringField(_l("Percentage off"))
    duration = RadioField(_l("Applies"), choices=labelled(catalog.DURATIONS.items()),
                          default="once", validate_choice=False)
    duration_terms = StringField(_l("Number of terms"))
    max_redemptions = StringField(_l("Redemption limit"))
    expires_on = DateField(_l("Expires on"), validators=[Optional()])
    plan_ids = SelectMultipleField(_l("Applies to plans"), coerce=int, validate_choice=False,
                                   widget=ListWidget(prefix_label=False),
                                   option_widget=CheckboxInput())

    def values(self) -> catalog.CouponInput:
        return catalog.CouponInput(
            code=self.code.data or "", name=self.name.data or "",
            discount_type=self.discount_type.data or "", percent=self.percent.data or "",
            amounts=money_values(self, "amount"), duration=self.duration.data or "",
            duration_terms=self.duration_terms.data or "",
            max_redemptions=self.max_redemptions.data or "", expires_on=self.expires_on.data,
            plan_ids=tuple(self.plan_ids.data or ()))


money_fields(CouponForm, "amount", _l("Amount off"))


def _plan_form(plan: Plan | None = None) -> PlanForm:
    if plan is None or request.method == "POST":
        return PlanForm()
    view = catalog.plan_views(db.session, plan.id)[0]
    data = {"code": plan.code, "name": plan.name, "description": plan.description,
            "interval_unit": plan.interval_unit, "interval_count": str(plan.interval_count),
            "billing_cycles": str(plan.billing_cycles or ""), "trial_days": str(plan.trial_days)}
    for price in view.prices:
        data[f"price_{price.currency}"] = price_text(price.amount, price.currency)
        data[f"setup_{price.currency}"] = price_text(price.setup_fee, price.currency) \
            if price.setup_fee else ""
    return PlanForm(data=data)


def price_text(amount: int, currency: str) -> str:
    """Minor units as the admin types them ("12.50")."""
    return str(to_decimal(amount, currency))


def _addon_form(addon: Addon | None = None) -> AddonForm:
    if addon is None or request.method == "POST":
        return AddonForm()
    view = catalog.addon_views(db.session, addon.id)[0]
    data = {"code": addon.code, "name": addon.name, "kind": addon.kind,
            "unit_name": addon.unit_name}
    data |= {f"price_{p.currency}": price_text(p.unit_amount, p.currency) for p in view.prices}
    return AddonForm(data=data)


def _coupon_form(coupon: Coupon | None = None) -> CouponForm:
    form = CouponForm() if coupon is None or request.method == "POST" else None
    if form is None:
        view = catalog.coupon_views(db.session, coupon.id)[0]
        data = {"code": coupon.code, "name": coupon.name,
                "discount_type": coupon.discount_type,
                "percent": format_percent(coupon.percent_bp), "duration": coupon.duration,
                "duration_terms": str(coupon.duration_terms or ""),
                "max_redemptions": str(coupon.max_redemptions or ""),
                "expires_on": coupon.expires_on, "plan_ids": catalog.coupon_plan_ids(
                    db.session, coupon.id)}
        data |= {f"amount_{a.currency}": price_text(a.amount, a.currency) for a in view.amounts}
        form = CouponForm(data=data)
    form.plan_ids.choices = options((v.plan.id, f"{v.plan.name} ({v.plan.code})")
                                    for v in catalog.plan_views(db.session))
    return form


@bp.get("")
@admin_required
def index():
    """Plans, addons and coupons, active first."""
    return render_page("admin/catalog/index.html", catalog=catalog.catalog(db.session))


# --- One editor for each kind: (model, form maker, template) -----------------------------------

EDITORS = {
    "plans": (Plan, _plan_form, "admin/catalog/plan_form.html"),
    "addons": (Addon, _addon_form, "admin/catalog/addon_form.html"),
    "coupons": (Coupon, _coupon_form, "admin/catalog/coupon_form.html"),
}


def _save(kind: str, form, item_id: int | None):
    at, who = moment(), actor()
    data = form.values()
    if kind == "plans":
        return catalog.update_plan(db.session, actor=who, plan_id=item_id, data=data, now=at.now) \
            if item_id else catalog.create_plan(db.session, actor=who, data=data, now=at.now)
    if kind == "addons":
        return catalog.update_addon(db.session, actor=who, addon_id=item_id, data=data, now=at.now) \
            if item_id else catalog.create_addon(db.session, actor=who, data=data, now=at.now)
    return catalog.update_coupon(db.session, actor=who, coupon_id=item_id, data=data,
                                 at=at) if item_id else \
        catalog.create_coupon(db.session, actor=who, data=data, at=at)


def _editor(kind: str, item_id: int | None):
    if kind not in EDITORS:
        abort(404)
    model, make_form, template = EDITORS[kind]
    item = db.session.get(model, item_id) if item_id else None
    if item_id and item is None:
        raise NotFound(_("No such catalog item."))
    return item, make_form(item), template


# The editors whose form htmx swaps in place (one partial each).
PARTIALS = {"admin/catalog/plan_form.html": "admin_catalog_plan_form"}


def _render(template: str, form, item, status: int = 200):
    context = {"form": form, "item": item, "money_rows": money_rows}
    return render_page(template, PARTIALS.get(template), status=status, **context)


@bp.get("/<kind>/new")
@admin_required
def new(kind: str):
    """An empty plan, addon or coupon form."""
    item, form, template = _editor(kind, None)
    return _render(template, form, item)


@bp.get("/<kind>/<int:item_id>/edit")
@admin_required
def edit(kind: str, item_id: int):
    item, form, template = _editor(kind, item_id)
    return _render(template, form, item)


@bp.post("/<kind>", defaults={"item_id": None})
@bp.post("/<kind>/<int:item_id>/edit")
@admin_required
def save(kind: str, item_id: int | None):
    """Create or change a plan, addon or coupon; the messages go next to their fields."""
    item, form, template = _editor(kind, item_id)
    if form.validate_on_submit():
        try:
            saved = _save(kind, form, item_id)
        except InvalidInput as exc:
            form.show(exc)
        else:
            db.session.commit()
            return finish(url_for(".index", _anchor=kind),
                          _("%(code)s was saved.", code=saved.code) if item_id else
                          _("%(code)s was added.", code=saved.code))
    return _render(template, form, item, 422)


@bp.post("/<kind>/<int:item_id>/status")
@admin_required
def set_status(kind: str, item_id: int):
    """Archive an item (it leaves the choices for new subscriptions) or restore it."""
    singular = kind.removesuffix("s")
    if singular not in catalog.KINDS:
        abort(404)
    archived = request.form.get("archived") == "1"
    view = catalog.set_status(db.session, actor=actor(), kind=singular, item_id=item_id,
                              archived=archived, now=now())
    db.session.commit()
    return swap_or_redirect(f"admin_catalog_{singular}_row", **{singular: view},
                            message=_("Archived.") if archived else _("Active again."),
                            redirect_to=url_for(".index", _anchor=kind))
