"""Timesheets: entries by project and week; approve or disapprove one or many; comments."""

from __future__ import annotations

from flask import Blueprint, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from wtforms import HiddenField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length

from webapp.blueprints.comment_forms import blank_comment_form, post_comment
from webapp.context import now
from webapp.db import db
from webapp.dispatch import commit_and_dispatch
from webapp.forms import FlaskForm
from webapp.htmx import form_errors, is_htmx, render_page, swap_or_redirect
from webapp.login import customer_required
from webapp.services.core.errors import InvalidInput
from webapp.services.core.i18n import N_
from webapp.services.engagement import timesheets

bp = Blueprint("timesheets", __name__, url_prefix="/timesheets")


class DecisionForm(FlaskForm):
    """Approve or disapprove the ticked entries (the clicked button says which)."""

    unplaced_errors = "entries"

    entries = SelectMultipleField(_l("Entries"), coerce=int, validate_choice=False)
    decision = StringField(_l("Decision"))
    reason = TextAreaField(_l("Reason for disapproving"),
                           validators=[Length(max=timesheets.MAX_REASON)])
    # The list's filters, so the answer shows the same list again.
    project = HiddenField()
    status = HiddenField()


def _sheet_context(params, form: DecisionForm | None = None) -> dict:
    filters, messages = timesheets.read_filters(params)
    sheet = timesheets.timesheet(db.session, customer_id=current_user.customer_id,
                                 filters=filters)
    return {"sheet": sheet, "filters": filters, "messages": messages,
            "form": form or DecisionForm(formdata=None)}


@bp.get("")
@customer_required
def index():
    """Time entries grouped by project and week; htmx swaps only the list on filtering."""
    return render_page("timesheets/index.html", "timesheet_list", **_sheet_context(request.args))


@bp.post("/decisions")
@customer_required
def decide():
    """Approve or disapprove the ticked entries, all or none."""
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            count = timesheets.decide(
                db.session, customer_id=current_user.customer_id, user_id=current_user.user_id,
                entry_ids=form.entries.data or [], decision=form.decision.data,
                reason=form.reason.data, now=now())
        except InvalidInput as exc:
            form.show(exc)
        else:
            commit_and_dispatch()
            context = _sheet_context(request.form)
            message = ngettext("You approved %(num)d time entry.",
                               "You approved %(num)d time entries.", count) \
                if form.decision.data == timesheets.APPROVE else \
                ngettext("You disapproved %(num)d time entry.",
                         "You disapproved %(num)d time entries.", count)
            return swap_or_redirect(
                "timesheet_list", message=message,
                redirect_to=url_for(".index", **context["filters"].query_args()), **context)
    return form_errors("timesheets/index.html", "timesheet_list",
                       **_sheet_context(request.form, form))


def _entry_context(entry_id: int, **forms) -> dict:
    detail = timesheets.entry_detail(db.session, customer_id=current_user.customer_id,
                                     entry_id=entry_id)
    return {"detail": detail, "comments": detail.comments,
            "comment_url": url_for(".comment", entry_id=entry_id),
            "comment_form": forms.get("comment_form") or blank_comment_form(),
            "reason_form": forms.get("reason_form") or DecisionForm(formdata=None)}


@bp.get("/entries/<int:entry_id>")
@customer_required
def entry(entry_id: int):
    """One time entry: its details, Approve / Disapprove while pending, and its comments."""
    return render_page("timesheets/entry.html", **_entry_context(entry_id))


def _decide_one(entry_id: int, decision: str, done: str):
    form = DecisionForm()
    if form.validate_on_submit():
        try:
            timesheets.decide(db.session, customer_id=current_user.customer_id,
                              user_id=current_user.user_id, entry_ids=[entry_id],
                              decision=decision, reason=form.reason.data, now=now())
        except InvalidInput as exc:
            form.show(exc)
        else:
            commit_and_dispatch()
            return swap_or_redirect("timesheet_entry_decision", **_entry_context(entry_id),
                                    message=_(done),
                                    redirect_to=url_for(".entry", entry_id=entry_id))
    return form_errors("timesheets/entry.html", "timesheet_entry_decision",
                       **_entry_context(entry_id, reason_form=form))


@bp.post("/entries/<int:entry_id>/approve")
@customer_required
def approve(entry_id: int):
    """Approve one entry of a project with client approval; it is locked from then on."""
    return _decide_one(entry_id, timesheets.APPROVE, N_("You approved this time entry."))


@bp.post("/entries/<int:entry_id>/disapprove")
@customer_required
def disapprove(entry_id: int):
    """Disapprove one entry, saying why."""
    return _decide_one(entry_id, timesheets.DISAPPROVE,
                       N_("You disapproved this time entry."))


@bp.get("/entries/<int:entry_id>/comments")
@customer_required
def comments(entry_id: int):
    """The entry's comment thread alone for htmx; otherwise the entry's page at its thread."""
    context = _entry_context(entry_id)  # 404 unless it is the customer's
    if not is_htmx():
        return redirect(url_for(".entry", entry_id=entry_id, _anchor="comment-thread"))
    return render_page("timesheets/entry.html", "comment_thread", **context)


@bp.post("/entries/<int:entry_id>/comments")
@customer_required
def comment(entry_id: int):
    """Add the customer's comment on an entry; htmx swaps the thread with it appended."""
    return post_comment(
        lambda body: timesheets.add_comment(db.session, customer_id=current_user.customer_id,
                                            user_id=current_user.user_id, entry_id=entry_id,
                                            body=body, now=now()),
        comment_url=url_for(".comment", entry_id=entry_id), message=_("Comment added."),
        redirect_to=url_for(".entry", entry_id=entry_id, _anchor="comment-thread"),
        refused=lambda form: form_errors("timesheets/entry.html", "comment_thread",
                                         **_entry_context(entry_id, comment_form=form)))
