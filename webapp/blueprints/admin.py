"""The organization's admin pages; customers get 404 here."""

from __future__ import annotations

from flask import Blueprint, render_template

from webapp.login import admin_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@admin_required
def index():
    """The admins' start page."""
    return render_template("admin/index.html")
