"""Admin: customers' estimates — list, create, edit, send, and reply on their threads."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import DateField, FieldList, FormField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from webapp.blueprints.comment_forms import (
    CommentForm,
    blank_comment_form,
    customer_options,
    post_comment,
)
from webapp.context import moment, now
from webapp.db import db
from webapp.dispatch import commit_and_dispatch
from webapp.forms import FlaskForm, Form, MoneyField
from webapp.htmx import finish, form_errors
from webapp.inputs import arg_id
from webapp.login import admin_required
from webapp.services.accounts import profile
from webapp.services.admin import estimates as estimate_admin
from webapp.services.core.errors import InvalidInput
from webapp.services.core.listing import FilterReader

bp = Blueprint("admin_estimates", __name__, url_prefix="/admin/estimates")

BLANK_LINES = 3  # empty rows offered below the typed ones


class LineForm(Form):
    item = StringField(_l("Item"), validators=[Length(max=500)])  # not "description": Field has one
    quantity = StringField(_l("Qty"), validators=[Length(max=10)])
    unit_price = MoneyField(_l("Price"), validators=[Length(max=20)])


class EstimateForm(FlaskForm):
    unplaced_errors = "lines"

    customer_id = SelectField(_l("Customer"), coerce=int, validate_choice=False)
    subject = StringField(_l("Subject"), validators=[Length(max=200)])
    issue_date = DateField(_l("Estimate date"), validators=[Optional()])
    expiry_date = DateField(_l("Valid until"), validators=[Optional()])
    notes = TextAreaField(_l("Notes for the customer"), validators=[Length(max=4000)])
    lines = FieldList(FormField(LineForm), min_entries=BLANK_LINES, max_entries=50)

    def data_input(self) -> estimate_admin.EstimateInput:
        return estimate_admin.EstimateInput(
            self.subject.data or "", self.issue_date.data, self.expiry_date.data,
            self.notes.data or "",
            tuple(estimate_admin.LineInput(row.item.data or "", row.quantity.data or "",
                                           row.unit_price.data or "") for row in self.lines))


def _form(**kwargs) -> EstimateForm:
    form = EstimateForm(**kwargs)
    form.customer_id.choices = customer_options(db.session)
    while len(form.lines) < len([r for r in form.lines if r.item.data]) + BLANK_LINES:
        form.lines.append_entry()
    return form


@bp.get("")
@admin_required
def index():
    """Every customer's estimates, filterable by customer and status."""
    reader = FilterReader(request.args)
    customer_id = reader.integer("customer", "customer")
    status = reader.choice("status", ("draft", *estimate_admin.STATUS_FILTERS), "status")
    rows = estimate_admin.list_estimates(db.session, at=moment(), customer_id=customer_id,
                                         status=status)
    return render_template("admin/engagement/estimates.html", rows=rows,
                           customers=profile.customer_choices(db.session),
                           customer_id=customer_id, status=status, messages=reader.messages)


@bp.route("/new", methods=["GET", "POST"])
@admin_required
def new():
    """Create a draft estimate for a customer."""
    form = _form(customer_id=arg_id("customer") or 0)
    if form.validate_on_submit():
        try:
            estimate = estimate_admin.create_estimate(
                db.session, customer_id=form.customer_id.data, data=form.data_input(), now=now())
        except InvalidInput as exc:
            form.show(exc)
        else:
            commit_and_dispatch()
            return finish(url_for(".detail", estimate_id=estimate.id),
                          _("Draft estimate %(number)s created.", number=estimate.number))
    return render_template("admin/engagement/estimate_form.html", form=form, estimate=None), \
        422 if form.is_submitted() else 200


@bp.route("/<int:estimate_id>/edit", methods=["GET", "POST"])
@admin_required
def edit(estimate_id: int):
    """Change a draft or sent estimate's dates, notes and lines."""
    view = estimate_admin.estimate_detail(db.session, estimate_id=estimate_id, at=moment())
    lines = [{"item": line.description, "quantity": line.quantity,
              "unit_price": line.unit_price}
             for line in estimate_admin.typed_lines(db.session, estimate_id=estimate_id)]
    form = _form(obj=view.detail.estimate, data={"lines": lines})
    if form.validate_on_submit():
        try:
            estimate_admin.update_estimate(db.session, estimate_id=estimate_id,
                                           data=form.data_input(),
                                           now=now())
        except InvalidInput as exc:
            form.show(exc)
        else:
            commit_and_dispatch()
            return finish(url_for(".detail", estimate_id=estimate_id),
                          _("Estimate %(number)s saved.", number=view.detail.estimate.number))
    return render_template("admin/engagement/estimate_form.html", form=form,
                           estimate=view.detail.estimate), 422 if form.is_submitted() else 200


def _detail_context(estimate_id: int, comment_form: CommentForm | None = None) -> dict:
    view = estimate_admin.estimate_detail(db.session, estimate_id=estimate_id, at=moment())
    return {"view": view, "detail": view.detail, "comments": view.detail.comments,
            "comment_form": comment_form or blank_comment_form(),
            "comment_url": url_for(".reply", estimate_id=estimate_id)}


@bp.get("/<int:estimate_id>")
@admin_required
def detail(estimate_id: int):
    """One estimate with its customer, decision and comment thread."""
    return render_template("admin/engagement/estimate.html", **_detail_context(estimate_id))


@bp.post("/<int:estimate_id>/send")
@admin_required
def send(estimate_id: int):
    """Send a draft: the customer sees it in the portal and is emailed a link."""
    estimate = estimate_admin.send_estimate(db.session, estimate_id=estimate_id,
                                            now=now())
    commit_and_dispatch()
    return finish(url_for(".detail", estimate_id=estimate_id),
                  _("Estimate %(number)s sent to the customer.", number=estimate.number))


@bp.post("/<int:estimate_id>/comments")
@admin_required
def reply(estimate_id: int):
    """Reply on the estimate's thread; the customer is emailed if the preference says so."""
    return post_comment(
        lambda body: estimate_admin.reply(db.session, estimate_id=estimate_id,
                                          user_id=current_user.user_id, body=body,
                                          now=now()),
        comment_url=url_for(".reply", estimate_id=estimate_id), message=_("Reply added."),
        redirect_to=url_for(".detail", estimate_id=estimate_id, _anchor="comment-thread"),
        refused=lambda form: form_errors("admin/engagement/estimate.html", "comment_thread",
                                         **_detail_context(estimate_id, form)))
