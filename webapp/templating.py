"""Jinja filters and the values every template may use."""

from __future__ import annotations

from flask import Flask, url_for

from webapp.context import current_org, localdate_filter, localdatetime_filter, money_filter
from webapp.permissions import can, sidebar


def register(app: Flask) -> None:
    app.jinja_env.filters["money"] = money_filter
    app.jinja_env.filters["localdate"] = localdate_filter
    app.jinja_env.filters["localdatetime"] = localdatetime_filter

    @app.context_processor
    def portal_context():
        org = current_org()
        return {
            "org": org,
            "sidebar": sidebar() if org else (),
            "can": can,  # preference facts: {% if can("subscription.cancel") %}
            "static_url": lambda filename: url_for("static", filename=filename),
        }
