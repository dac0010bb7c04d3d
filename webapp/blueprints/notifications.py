"""The organization's notifications (admins only): the list, and marking one read."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _

from webapp.context import now
from webapp.db import db
from webapp.htmx import swap_or_redirect
from webapp.inputs import arg_page
from webapp.login import admin_required
from webapp.services.core import notifications

bp = Blueprint("notifications", __name__, url_prefix="/admin/notifications")


@bp.get("/")
@admin_required
def index():
    """Notifications, newest first, unread ones marked."""
    listing = notifications.list_page(db.session, page=arg_page())
    return render_template("admin/notifications.html", listing=listing)


@bp.post("/<int:notification_id>/read")
@admin_required
def mark_read(notification_id: int):
    """Mark one notification read: htmx swaps its row, a plain form goes back to the list."""
    note = notifications.mark_read(db.session, notification_id=notification_id,
                                   now=now())
    db.session.commit()
    return swap_or_redirect("notification_row", notification=note,
                            redirect_to=url_for(".index", page=request.args.get("page")),
                            message=_("Notification marked as read."))
