"""Projects: the customer's active projects, and one project's hours, tasks and entries."""

from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from webapp.db import db
from webapp.htmx import render_page
from webapp.login import customer_required
from webapp.services.engagement import projects

bp = Blueprint("projects", __name__, url_prefix="/projects")


@bp.get("")
@customer_required
def index():
    """The customer's active projects with logged, approved and unbilled hours."""
    rows = projects.list_projects(db.session, customer_id=current_user.customer_id)
    return render_page("projects/index.html", rows=rows)


@bp.get("/<int:project_id>")
@customer_required
def detail(project_id: int):
    """One project: description, billing, budget, hours, tasks and their time entries."""
    view = projects.project_detail(db.session, customer_id=current_user.customer_id,
                                   project_id=project_id)
    return render_page("projects/detail.html", detail=view)
