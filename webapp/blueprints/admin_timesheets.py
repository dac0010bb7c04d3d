"""Admin: time entries on customers' projects — log, correct, and reply on their threads."""

from __future__ import annotations

from flask import Blueprint, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, DateField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional

from webapp.blueprints.comment_forms import CommentForm, blank_comment_form, post_comment
from webapp.context import now
from webapp.db import db
from webapp.dispatch import commit_and_dispatch
from webapp.forms import FlaskForm
from webapp.htmx import finish, form_errors
from webapp.login import admin_required
from webapp.services.admin import projects as project_admin
from webapp.services.core.errors import InvalidInput
from webapp.services.engagement import timesheets

bp = Blueprint("admin_timesheets", __name__, url_prefix="/admin")


class EntryForm(FlaskForm):
    unplaced_errors = "hours"

    task_id = SelectField(_l("Task"), coerce=int, validate_choice=False)
    work_date = DateField(_l("Date worked"), validators=[Optional()])
    hours = StringField(_l("Hours"), validators=[Length(max=10)],
                        description=_l("Such as 1:30 or 1.5."))
    description = StringField(_l("Description"), validators=[Length(max=500)])
    billable = BooleanField(_l("Billable"), default=True)
    billed = BooleanField(_l("Billed already"))

    def data_input(self) -> timesheets.EntryInput:
        return timesheets.EntryInput(self.task_id.data or None, self.work_date.data,
                                     self.hours.data or "", self.description.data or "",
                                     self.billable.data, self.billed.data)


def _entry_form(project_id: int, **kwargs) -> EntryForm:
    form = EntryForm(**kwargs)
    form.task_id.choices = [SelectChoice(0, _("No task"))] + [
        SelectChoice(t.id, t.name) for t in project_admin.tasks_of(db.session, project_id)]
    return form


@bp.route("/projects/<int:project_id>/entries/new", methods=["GET", "POST"],
          defaults={"entry_id": None})
@bp.route("/projects/<int:project_id>/entries/<int:entry_id>/edit", methods=["GET", "POST"])
@admin_required
def save_entry(project_id: int, entry_id: int | None):
    """Log time on a project, or correct an entry (approved entries are locked)."""
    project = project_admin.get_project(db.session, project_id)
    entry = timesheets.get_entry(db.session, entry_id) if entry_id else None
    form = _entry_form(project_id, **timesheets.entry_form_data(entry))
    if form.validate_on_submit():
        try:
            timesheets.save_entry(db.session, project_id=project_id, entry_id=entry_id,
                                  data=form.data_input(), now=now())
        except InvalidInput as exc:
            form.show(exc)
        else:
            commit_and_dispatch()
            return finish(url_for("admin_projects.detail", project_id=project_id),
                          _("Time entry saved."))
    return render_template("admin/engagement/entry_form.html", form=form, project=project,
                           entry=entry), 422 if form.is_submitted() else 200


def _entry_context(entry_id: int, comment_form: CommentForm | None = None) -> dict:
    detail = timesheets.detail_of(db.session, timesheets.get_entry(db.session, entry_id))
    return {"detail": detail, "comments": detail.comments,
            "comment_form": comment_form or blank_comment_form(),
            "comment_url": url_for(".reply", entry_id=entry_id)}


@bp.get("/entries/<int:entry_id>")
@admin_required
def entry(entry_id: int):
    """One time entry with its approval and comment thread."""
    return render_template("admin/engagement/entry.html", **_entry_context(entry_id))


@bp.post("/entries/<int:entry_id>/comments")
@admin_required
def reply(entry_id: int):
    """Reply on the entry's thread; the customer is emailed if the preference says so."""
    return post_comment(
        lambda body: timesheets.reply(db.session, entry_id=entry_id,
                                      user_id=current_user.user_id, body=body, now=now()),
        comment_url=url_for(".reply", entry_id=entry_id), message=_("Reply added."),
        redirect_to=url_for(".entry", entry_id=entry_id, _anchor="comment-thread"),
        refused=lambda form: form_errors("admin/engagement/entry.html", "comment_thread",
                                         **_entry_context(entry_id, form)))
