"""Admin: customers' projects and their tasks — list, create, edit."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import Length

from webapp.blueprints.comment_forms import customer_options, options
from webapp.context import now
from webapp.db import db
from webapp.dispatch import commit_and_dispatch
from webapp.forms import FlaskForm, MoneyField
from webapp.htmx import finish
from webapp.inputs import arg_id
from webapp.login import admin_required
from webapp.services.accounts import profile
from webapp.services.admin import projects as project_admin
from webapp.services.core.errors import InvalidInput
from webapp.services.core.listing import FilterReader
from webapp.services.engagement import projects

bp = Blueprint("admin_projects", __name__, url_prefix="/admin/projects")


class ProjectForm(FlaskForm):
    unplaced_errors = "customer_id"

    customer_id = SelectField(_l("Customer"), coerce=int, validate_choice=False)
    name = StringField(_l("Name"), validators=[Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=4000)])
    status = SelectField(_l("Status"), choices=options(projects.STATUS_LABELS))
    billing_method = SelectField(_l("Billing method"), choices=options(projects.BILLING_METHODS))
    fixed_amount = MoneyField(_l("Project price (fixed cost)"), validators=[Length(max=20)])
    hourly_rate = MoneyField(_l("Hourly rate (hourly by project)"), validators=[Length(max=20)])
    budget_hours = StringField(_l("Budget hours"), validators=[Length(max=12)])
    budget_amount = MoneyField(_l("Budget amount"), validators=[Length(max=20)])
    client_approval = BooleanField(_l("The customer approves time entries in the portal"))

    def data_input(self) -> project_admin.ProjectInput:
        return project_admin.ProjectInput(*(getattr(self, name).data for name in (
            "name", "description", "status", "billing_method", "fixed_amount", "hourly_rate",
            "budget_hours", "budget_amount", "client_approval")))


class TaskForm(FlaskForm):
    unplaced_errors = "name"

    name = StringField(_l("Task"), validators=[Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=2000)])
    hourly_rate = MoneyField(_l("Hourly rate (hourly by task)"), validators=[Length(max=20)])


def _project_form(**kwargs) -> ProjectForm:
    form = ProjectForm(**kwargs)
    form.customer_id.choices = customer_options(db.session)
    return form


@bp.get("")
@admin_required
def index():
    """Every customer's projects, filterable by customer."""
    reader = FilterReader(request.args)
    customer_id = reader.integer("customer", "customer")
    return render_template("admin/engagement/projects.html",
                           rows=project_admin.admin_projects(db.session, customer_id=customer_id),
                           customers=profile.customer_choices(db.session),
                           customer_id=customer_id, messages=reader.messages)


@bp.route("/new", methods=["GET", "POST"])
@admin_required
def new():
    """Create a project for a customer."""
    form = _project_form(customer_id=arg_id("customer") or 0)
    if form.validate_on_submit():
        try:
            project = project_admin.create_project(db.session, customer_id=form.customer_id.data,
                                                   data=form.data_input(), now=now())
        except InvalidInput as exc:
            form.show(exc)
        else:
            commit_and_dispatch()
            return finish(url_for(".detail", project_id=project.id),
                          _("Project %(name)s created.", name=project.name))
    return render_template("admin/engagement/project_form.html", form=form, project=None), \
        422 if form.is_submitted() else 200


@bp.route("/<int:project_id>/edit", methods=["GET", "POST"])
@admin_required
def edit(project_id: int):
    """Change a project's details, billing, budget or client approval."""
    project = project_admin.get_project(db.session, project_id)
    form = _project_form(customer_id=project.customer_id,
                         **asdict(project_admin.ProjectInput.of(project)))
    if form.validate_on_submit():
        try:
            project_admin.update_project(db.session, project_id=project_id, data=form.data_input(),
                                         now=now())
        except InvalidInput as exc:
            form.show(exc)
        else:
            commit_and_dispatch()
            return finish(url_for(".detail", project_id=project_id),
                          _("Project %(name)s saved.", name=project.name))
    return render_template("admin/engagement/project_form.html", form=form, project=project), \
        422 if form.is_submitted() else 200


@bp.get("/<int:project_id>")
@admin_required
def detail(project_id: int):
    """A project with its hours, tasks and entries, and a form to add a task."""
    view = projects.detail_of(db.session, project_admin.get_project(db.session, project_id))
    return render_template("admin/engagement/project.html", detail=view,
                           task_form=TaskForm(formdata=None))


@bp.route("/<int:project_id>/tasks/new", methods=["GET", "POST"], defaults={"task_id": None})
@bp.route("/<int:project_id>/tasks/<int:task_id>/edit", methods=["GET", "POST"])
@admin_required
def save_task(project_id: int, task_id: int | None):
    """Add a task to a project, or change one."""
    project = project_admin.get_project(db.session, project_id)
    task = project_admin.get_task(db.session, project_id, task_id) if task_id else None
    form = TaskForm(**asdict(project_admin.TaskInput.of(task, project.currency)))
    if form.validate_on_submit():
        try:
            saved = project_admin.save_task(db.session, project_id=project_id, task_id=task_id,
                                            name=form.name.data, description=form.description.data,
                                            hourly_rate=form.hourly_rate.data, now=now())
        except InvalidInput as exc:
            form.show(exc)
        else:
            commit_and_dispatch()
            return finish(url_for(".detail", project_id=project_id),
                          _("Task %(name)s saved.", name=saved.name))
    return render_template("admin/engagement/task_form.html", form=form, project=project,
                           task=task), 422 if form.is_submitted() else 200
