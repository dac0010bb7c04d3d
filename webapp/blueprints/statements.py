"""Statements of accounts: the statement for a date range, printable and as a PDF; a long
statement's PDF is prepared in a job while the page polls its progress."""

from __future__ import annotations

from flask import Blueprint, current_app, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from webapp.blueprints.documents import download
from webapp.context import moment, now, today
from webapp.db import db
from webapp.dispatch import RENDER_DOCUMENT, commit_and_dispatch, defer
from webapp.htmx import finish, render_page, swap_or_redirect
from webapp.login import customer_required
from webapp.services.documents import jobs as document_jobs
from webapp.services.documents import statements

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
                                period=period, at=moment(), row_limit=row_limit())
    params = statements.job_params(period, today())
    job, pack_job = document_jobs.latest(db.session, customer_id=current_user.customer_id,
                                         kinds=("statement", "pack"), params=params,
                                         now=now())
    return render_page("statements/index.html", "statement", statement=view, job=job,
                       pack_job=pack_job, messages=messages, presets=statements.PRESETS)


@bp.get("/statements.pdf")
@customer_required
def pdf():
    """The statement as a PDF; a long one is sent back to the page to be prepared in a job."""
    period, _messages = statements.read_period(request.args, today())
    try:
        document = statements.statement_pdf(db.session, customer_id=current_user.customer_id,
                                            period=period, at=moment(),
                                            row_limit=row_limit())
    except statements.StatementTooBig as exc:
        return finish(url_for(".index", **period.query_args()), exc.message, "info")
    return download(document)


# Per kind of job: the fragment that shows it, and its page's title.
JOB_PAGES = {"statement": ("statement_pdf", _l("Statement PDF")),
             "pack": ("statement_pack", _l("Accountant pack"))}


def start_job(kind: str):
    """Start (or find) the job for the posted range; the fragment then polls its progress."""
    period, _messages = statements.read_period(request.form, today())
    job, created = document_jobs.start(db.session, customer_id=current_user.customer_id,
                                       kind=kind, params=statements.job_params(period, today()),
                                       now=now())
    if created:
        defer(db.session, RENDER_DOCUMENT, job.id)
    commit_and_dispatch()  # without Redis the job runs here, now
    view = document_jobs.view(db.session, customer_id=current_user.customer_id, job_id=job.id)
    return swap_or_redirect(JOB_PAGES[kind][0], job=view, period=period, big=True,
                            redirect_to=url_for(".job", job_id=job.id))


@bp.post("/statements/pdf-jobs")
@customer_required
def prepare_pdf():
    """Start preparing a long statement's PDF in a job."""
    return start_job("statement")


@bp.post("/statements/pack-jobs")
@customer_required
def prepare_pack():
    """Start building the accountant pack (a ZIP) for the range in a job."""
    return start_job("pack")


@bp.get("/statements/jobs/<int:job_id>")
@customer_required
def job(job_id: int):
    """A document being prepared: progress, then its download link (htmx polls this)."""
    view = document_jobs.view(db.session, customer_id=current_user.customer_id, job_id=job_id)
    partial, title = JOB_PAGES[view.kind]
    return render_page("statements/job.html", partial, job=view, big=True, partial=partial,
                       title=title, period=statements.StatementPeriod.from_params(view.params))


@bp.get("/statements/jobs/<int:job_id>/download")
@customer_required
def job_download(job_id: int):
    """A prepared document: a long statement's PDF or an accountant pack."""
    return download(document_jobs.download(db.session, customer_id=current_user.customer_id,
                                           job_id=job_id))
