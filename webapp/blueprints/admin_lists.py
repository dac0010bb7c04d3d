"""Back office: every customer's subscriptions, invoices and payments (issue 31), the lists
behind the admin home's figures. Filters are query parameters (the form works without
JavaScript; htmx swaps the list), and each list downloads as CSV with the same filters."""

from __future__ import annotations

import io
from collections.abc import Iterable

from flask import Blueprint, g, request

from webapp.blueprints.admin_forms import translated
from webapp.context import moment
from webapp.db import db
from webapp.htmx import render_page
from webapp.login import admin_required
from webapp.services.admin import lists
from webapp.services.core import spreadsheets
from webapp.services.payments.history import METHOD_LABELS, METHODS

bp = Blueprint("admin_lists", __name__, url_prefix="/admin")


def csv_response(rows: Iterable[Iterable], filename: str):
    """A CSV download (every text cell made safe to open, spreadsheets.writer)."""
    out = io.StringIO()
    spreadsheets.writer(out).writerows(rows)
    return out.getvalue(), 200, {"Content-Type": "text/csv; charset=utf-8",
                                 "Content-Disposition": f"attachment; filename={filename}"}


def _currencies() -> tuple[str, ...]:
    """The currency filter's choices, read once per request (the filters and the page)."""
    if "admin_currencies" not in g:
        g.admin_currencies = lists.currency_choices(db.session)
    return g.admin_currencies


def _plans() -> tuple[tuple[str, str], ...]:
    if "admin_plans" not in g:
        g.admin_plans = lists.plan_choices(db.session)
    return g.admin_plans


def _subscription_filters():
    return lists.read_subscription_filters(
        request.args, plan_codes=tuple(code for code, _ in _plans()),
        currencies=_currencies())


@bp.get("/subscriptions")
@admin_required
def subscriptions():
    """Every customer's subscriptions; htmx swaps the list."""
    filters, messages = _subscription_filters()
    page = lists.list_subscriptions(db.session, filters=filters)
    return render_page("admin/lists/subscriptions.html", "subscription_list", page=page,
                       filters=filters, messages=messages, as_admin=True,
                       plans=_plans(),
                       currencies=_currencies(),
                       statuses=translated(lists.ADMIN_SUBSCRIPTION_STATUSES),
                       date_fields=translated(lists.SUBSCRIPTION_DATES))


@bp.get("/subscriptions.csv")
@admin_required
def subscriptions_csv():
    filters, _messages = _subscription_filters()
    return csv_response(lists.subscriptions_csv(db.session, filters=filters),
                        "subscriptions.csv")


def _invoice_filters():
    return lists.read_invoice_filters(request.args,
                                      currencies=_currencies())


@bp.get("/invoices")
@admin_required
def invoices():
    """Every customer's invoices; htmx swaps the list."""
    filters, messages = _invoice_filters()
    page = lists.list_invoices(db.session, filters=filters, at=moment())
    return render_page("admin/lists/invoices.html", "invoice_list", page=page, filters=filters,
                       messages=messages, as_admin=True,
                       currencies=_currencies(),
                       statuses=translated(lists.STATUS_CHOICES["invoices"]),
                       aging=translated(lists.AGING_LABELS))


@bp.get("/invoices.csv")
@admin_required
def invoices_csv():
    filters, _messages = _invoice_filters()
    return csv_response(lists.invoices_csv(db.session, filters=filters, at=moment()),
                        "invoices.csv")


def _payment_filters():
    return lists.read_payment_filters(request.args,
                                      currencies=_currencies())


@bp.get("/payments")
@admin_required
def payments():
    """Every customer's payments, refunds and failed attempts; htmx swaps the list."""
    filters, messages = _payment_filters()
    page = lists.list_payments(db.session, filters=filters)
    return render_page("admin/lists/payments.html", "payment_list", page=page, filters=filters,
                       messages=messages, as_admin=True,
                       currencies=_currencies(),
                       statuses=translated(lists.PAYMENT_STATUSES),
                       kinds=translated(lists.PAYMENT_KINDS),
                       methods=translated({m: METHOD_LABELS[m] for m in METHODS}))


@bp.get("/payments.csv")
@admin_required
def payments_csv():
    filters, _messages = _payment_filters()
    return csv_response(lists.payments_csv(db.session, filters=filters), "payments.csv")


def _credit_filters():
    return lists.read_credit_filters(request.args, currencies=_currencies())


@bp.get("/credits")
@admin_required
def credits():
    """Every customer's credit notes (the home's unused credits); htmx swaps the list."""
    filters, messages = _credit_filters()
    page = lists.list_credits(db.session, filters=filters)
    return render_page("admin/lists/credits.html", "credit_list", page=page, filters=filters,
                       messages=messages, as_admin=True, currencies=_currencies(),
                       statuses=translated(lists.CREDIT_STATUSES))


@bp.get("/credits.csv")
@admin_required
def credits_csv():
    filters, _messages = _credit_filters()
    return csv_response(lists.credits_csv(db.session, filters=filters), "credit-notes.csv")
