"""Payments Made: the list with filters, and receipts."""

from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user

from webapp.db import db
from webapp.htmx import render_page
from webapp.login import customer_required
from webapp.services.payments import history

bp = Blueprint("payments", __name__, url_prefix="/payments")


@bp.get("")
@customer_required
def index():
    """Payments the customer has made; htmx swaps only the list when filters change."""
    filters, messages = history.read_filters(request.args)
    page = history.list_payments(db.session, customer_id=current_user.customer_id,
                                 filters=filters)
    return render_page("payments/index.html", "payment_list", page=page, filters=filters,
                       messages=messages, methods=history.METHOD_LABELS)


@bp.get("/<int:payment_id>")
@customer_required
def receipt(payment_id: int):
    """A payment's receipt, printable."""
    view = history.receipt(db.session, customer_id=current_user.customer_id,
                           payment_id=payment_id)
    return render_page("payments/receipt.html", receipt=view)
