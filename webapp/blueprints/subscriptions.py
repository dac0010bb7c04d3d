"""Subscriptions: the list with filters, and a subscription's details."""

from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user

from webapp.context import moment
from webapp.db import db
from webapp.htmx import render_page
from webapp.login import customer_required
from webapp.services.subscriptions import actions as subscription_actions
from webapp.services.subscriptions import views

bp = Blueprint("subscriptions", __name__, url_prefix="/subscriptions")


@bp.get("")
@customer_required
def index():
    """The customer's subscriptions; htmx swaps only the list when filters change."""
    listed = views.subscription_list(db.session, customer_id=current_user.customer_id,
                                     params=request.args)
    return render_page("subscriptions/index.html", "subscription_list", page=listed.page,
                       filters=listed.filters, messages=listed.messages, plans=listed.plans,
                       statuses=views.STATUS_LABELS)


@bp.get("/<int:subscription_id>")
@customer_required
def detail(subscription_id: int):
    """One subscription: plan, addons, coupons, amounts, terms and what is scheduled."""
    view = views.subscription_detail(db.session, customer_id=current_user.customer_id,
                                     subscription_id=subscription_id, at=moment())
    actions = subscription_actions.available(db.session, view, at=moment())
    return render_page("subscriptions/detail.html", detail=view, actions=actions)
