"""Invoices: the list with filters, and an invoice's details."""

from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user

from webapp.context import moment
from webapp.db import db
from webapp.htmx import render_page
from webapp.login import customer_required
from webapp.services.billing import invoices

bp = Blueprint("invoices", __name__, url_prefix="/invoices")


@bp.get("")
@customer_required
def index():
    """The customer's invoices; htmx swaps only the list when filters change."""
    filters, messages = invoices.read_filters(request.args)
    page = invoices.list_invoices(db.session, customer_id=current_user.customer_id,
                                  filters=filters, at=moment())
    return render_page("invoices/index.html", "invoice_list", page=page, filters=filters,
                       messages=messages, statuses=invoices.STATUS_FILTERS)


@bp.get("/<int:invoice_id>")
@customer_required
def detail(invoice_id: int):
    """One invoice: lines, tax, credits applied, payments and the balance due."""
    view = invoices.invoice_detail(db.session, customer_id=current_user.customer_id,
                                   invoice_id=invoice_id, at=moment())
    return render_page("invoices/detail.html", detail=view)
