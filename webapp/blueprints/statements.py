"""Statements of accounts: the statement for a date range, printable and as a PDF."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_login import current_user

from webapp.blueprints.documents import download
from webapp.context import today
from webapp.db import db
from webapp.htmx import render_page
from webapp.login import customer_required
from webapp.services import statements

bp = Blueprint("statements", __name__)


def row_limit() -> int:
    """Statements longer than this render their PDF in a job (config STATEMENT_SYNC_ROWS)."""
    return current_app.config.get("STATEMENT_SYNC_ROWS", statements.SYNC_ROW_LIMIT)


@bp.get("/statements")
@customer_required
def index():
    """The statement for a range (this month by default); htmx swaps only the statement."""
    period, messages = statements.read_period(request.args, today())
    view = statements.statement(db.session, customer_id=current_user.customer_id,
                                period=period, today=today(), row_limit=row_limit())
    return render_page("statements/index.html", "statement", statement=view,
                       messages=messages, presets=statements.PRESETS)


@bp.get("/statements.pdf")
@customer_required
def pdf():
    """The statement as a PDF; a long one is sent back to the page to be prepared in a job."""
    period, _messages = statements.read_period(request.args, today())
    try:
        document = statements.statement_pdf(db.session, customer_id=current_user.customer_id,
                                            period=period, today=today(),
                                            row_limit=row_limit())
    except statements.StatementTooBig as exc:
        flash(exc.message, "info")
        return redirect(url_for(".index", **period.query_args()), 303)
    return download(document)
