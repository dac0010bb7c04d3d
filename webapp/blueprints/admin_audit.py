"""Back office: the audit log — who changed what, when, old → new — by customer if wanted."""

from __future__ import annotations

from flask import Blueprint, request

from webapp.db import db
from webapp.htmx import render_page
from webapp.login import admin_required
from webapp.services.admin import activity

bp = Blueprint("admin_audit", __name__, url_prefix="/admin/audit")


@bp.get("")
@admin_required
def index():
    """Every recorded change, newest first; `?customer=` narrows it to one customer."""
    filters, messages = activity.read_filters(request.args)
    page = activity.audit_log(db.session, filters=filters)
    return render_page("admin/audit.html", "admin_audit_list", page=page, filters=filters,
                       messages=messages, customers=activity.customer_options(db.session))
