"""The customer's home dashboard."""

from __future__ import annotations

from flask import Blueprint, render_template

from webapp.login import customer_required

bp = Blueprint("home", __name__)


@bp.get("/")
@customer_required
def index():
    """The first screen a customer sees."""
    return render_template("home/index.html")
