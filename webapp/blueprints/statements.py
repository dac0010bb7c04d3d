"""Statements of accounts: the statement for a date range, printable and as a PDF; a long
statement's PDF is prepared in a job while the page polls its progress."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_login import current_user

from webapp import clock
from webapp.blueprints.documents import download
from webapp.context import today
from webapp.db import db
from webapp.dispatch import commit_and_dispatch, defer
from webapp.htmx import render_page, swap_or_redirect
from webapp.login import customer_required
from webapp.services import document_jobs, statements
from worker.documents import render_document_job

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
    job = document_jobs.latest(db.session, customer_id=current_user.customer_id,
                               kind="statement", params=statements.job_params(period, today()),
                               now=clock.now())
    return render_page("statements/index.html", "statement", statement=view, job=job,
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


@bp.post("/statements/pdf-jobs")
@customer_required
def prepare_pdf():
    """Start preparing the statement's PDF in a job; the page then polls its progress."""
    period, _messages = statements.read_period(request.form, today())
    job, created = document_jobs.start(db.session, customer_id=current_user.customer_id,
                                       kind="statement",
                                       params=statements.job_params(period, today()),
                                       now=clock.now())
    if created:
        defer(db.session, render_document_job, job.id)
    commit_and_dispatch()  # without Redis the job runs here, now
    view = document_jobs.view(db.session, customer_id=current_user.customer_id, job_id=job.id)
    return swap_or_redirect("statement_pdf", job=view, period=period, big=True,
                            redirect_to=url_for(".job", job_id=job.id))


@bp.get("/statements/jobs/<int:job_id>")
@customer_required
def job(job_id: int):
    """A statement PDF being prepared: progress, then its download link (htmx polls this)."""
    view = document_jobs.view(db.session, customer_id=current_user.customer_id, job_id=job_id)
    return render_page("statements/job.html", "statement_pdf", job=view, big=True,
                       period=statements.StatementPeriod.from_params(view.params))


@bp.get("/statements/jobs/<int:job_id>/download")
@customer_required
def job_download(job_id: int):
    """The prepared PDF of a statement."""
    return download(document_jobs.download(db.session, customer_id=current_user.customer_id,
                                           job_id=job_id))
