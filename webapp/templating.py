"""Jinja filters and the values every template may use."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from datetime import date
from typing import Any

from flask import Flask, url_for
from flask.templating import Environment as FlaskEnvironment
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from webapp.context import (
    count_filter,
    current_locale,
    current_org,
    localdate_filter,
    localdatetime_filter,
    money_filter,
    rate_filter,
)
from webapp.nav import sidebar
from webapp.permissions import can
from webapp.services.core import dates, i18n, locales, wording


class PortalEnvironment(i18n.CatalogEnvironment, FlaskEnvironment):
    """Flask's environment, its templates compiled once per catalog with their literal words
    translated (services/core/i18n.py `CatalogEnvironment`)."""

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        """A template's globals as one dict: the environment's, then its own. Jinja's is a
        ChainMap of the two, and every render copies it into its context (and again into a
        set of its names), a look-up per name through both maps: 23 µs a render with the
        portal's 26 globals against 1.4 µs for a dict, a quarter of the polled forward
        status's template path (bench/README.md, issue 32). A template's own globals still
        stay its own; the environment's are all set by `create_app` before any template
        loads, as Jinja asks ("avoid modifying any globals after a template is loaded")."""
        return {**self.globals, **(d or {})}


def register(app: Flask) -> None:
    # {{ _("...") }} as Flask-Babel's (the request's language), but a `use_locale` block (a
    # mail or document written for a customer) wins: services/core/i18n.py.
    i18n.install_jinja(app.jinja_env)
    app.jinja_env.filters["money"] = money_filter
    app.jinja_env.filters["localdate"] = localdate_filter
    app.jinja_env.filters["localdatetime"] = localdatetime_filter
    app.jinja_env.filters["rate"] = rate_filter
    app.jinja_env.filters["number"] = count_filter
    app.jinja_env.filters["reword"] = wording.reword_now  # the billing core's stored words
    app.jinja_env.filters["device"] = wording.device_now  # "Chrome on macOS", translated
    app.jinja_env.filters["locale_label"] = locales.label  # "Deutsch (Deutschland) (de_DE)"
    app.jinja_env.globals["every"] = dates.interval_label  # every(unit, count): "every 2 weeks"
    app.jinja_env.globals["badge"] = badge
    app.jinja_env.globals["row_link"] = row_link
    app.jinja_env.globals["badge_on"] = badge_on

    @app.context_processor
    def portal_context():
        org = current_org()
        return {
            "org": org,
            "locale": current_locale(),  # what the money and date filters write in
            "sidebar": _OnFirstUse(sidebar) if org else (),
            "can": can,  # preference facts: {% if can("subscription.cancel") %}
            "static_url": lambda filename: url_for("static", filename=filename),
        }


class _OnFirstUse:
    """A list built the first time a template looks at it: fragments never show the sidebar,
    so an htmx swap never pays for its links and permission checks (kept: building it on every
    render cost the polled forward status 9–11% of its CPU per request, bench/README.md)."""

    def __init__(self, build) -> None:
        self._build, self._items = build, None

    def _get(self) -> tuple:
        if self._items is None:
            self._items = self._build()
        return self._items

    def __iter__(self):
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())

    def __bool__(self) -> bool:
        return bool(self._get())


_HOLE = 2_147_483_647  # an id no row has: where each row's own goes (`row_link`)


def row_link(endpoint: str, key: str) -> Callable[[int], str]:
    """{% set invoice_url = row_link("invoices.detail", "invoice_id") %} … {{ invoice_url(inv.id) }}:
    a list's link to each row's page, its URL built once per list with `url_for` and each
    row's id put in its place. `url_for` on every row (25 rows, two links each) was about 8%
    of an admin list's CPU (bench/README.md, issue 32)."""
    head, hole, tail = url_for(endpoint, **{key: _HOLE}).partition(str(_HOLE))
    if not hole:  # an endpoint that does not put the id in its path: each row asks url_for
        return lambda value: url_for(endpoint, **{key: value})
    return lambda value: f"{head}{int(value)}{tail}"


def badge(status: str, label: str) -> Markup:
    """{{ badge(invoice.status, invoice.status_label) }}: a status as a coloured label. A
    function rather than a Jinja macro: lists call it on every row, and the macro cost the
    invoice list 5-6% of its CPU per request (bench/README.md)."""
    return Markup(f'<span class="status status-{escape(status)}">{escape(label)}</span>')


@pass_context
def badge_on(ctx: Context, status: str, label: str, on: date | None) -> Markup:
    """{{ badge_on(sub.status, sub.status_label, sub.status_on) }}: a badge that names its
    day in the portal's date format ("Ends on 6 Dec 2026": `label` a msgid with a %(date)s
    field, translated here), or a plain badge without one."""
    if on is None:
        return badge(status, label)
    return badge(status, i18n.gettext_now(label, date=localdate_filter(ctx, on)))
