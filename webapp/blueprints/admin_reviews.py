"""Admin: customers' reviews, filterable by customer, and asking a customer for one."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectChoice, SelectField

from webapp.context import now
from webapp.db import db
from webapp.dispatch import commit_and_dispatch
from webapp.forms import FlaskForm
from webapp.htmx import finish
from webapp.login import admin_required
from webapp.services.accounts import profile
from webapp.services.core.errors import NotFound
from webapp.services.core.listing import FilterReader
from webapp.services.engagement import reviews

bp = Blueprint("admin_reviews", __name__, url_prefix="/admin/reviews")


class RequestForm(FlaskForm):
    customer_id = SelectField(_l("Customer"), coerce=int, validate_choice=False)


@bp.get("")
@admin_required
def index():
    """Every review (or one customer's), newest first, and the Request Review form."""
    reader = FilterReader(request.args)
    customer_id = reader.integer("customer", "customer")
    customers = profile.customer_choices(db.session)
    form = RequestForm(formdata=None, customer_id=customer_id or 0)
    form.customer_id.choices = [SelectChoice(cid, label) for cid, label in customers]
    return render_template("admin/engagement/reviews.html",
                           reviews=reviews.admin_reviews(db.session, customer_id=customer_id),
                           customers=customers, customer_id=customer_id, form=form,
                           messages=reader.messages)


@bp.post("/request")
@admin_required
def request_review():
    """Email a customer a link to the review form."""
    form = RequestForm()
    if not form.validate_on_submit():  # the customer chosen is not a number the portal knows
        raise NotFound(_("No such customer."))
    customer = reviews.request_review(db.session, customer_id=form.customer_id.data,
                                      user_id=current_user.user_id, actor=current_user.email,
                                      now=now())
    commit_and_dispatch()
    return finish(url_for(".index", customer=customer.id),
                  _("Asked %(name)s (%(email)s) for a review.", name=customer.display_name,
                    email=customer.email))
