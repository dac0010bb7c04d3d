"""The customer's home dashboard."""

from __future__ import annotations

from flask import Blueprint, current_app
from flask_login import current_user

from webapp.context import moment
from webapp.db import db
from webapp.htmx import render_page
from webapp.login import customer_required
from webapp.services.home import overview

bp = Blueprint("home", __name__)


@bp.get("/favicon.ico")
def favicon():
    """The portal's icon, where browsers ask for it (no console 404 on a first visit)."""
    return current_app.send_static_file("favicon.ico")


@bp.get("/")
@customer_required
def index():
    """The first screen a customer sees: balances, renewals, recent activity."""
    view = overview.dashboard(db.session, customer_id=current_user.customer_id, at=moment())
    return render_page("home/index.html", dashboard=view)
