"""The organization's admin pages; customers get 404 here. The admin home (issue 31): the
business at a glance, for a date window read from GET parameters; htmx swaps the panels."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from markupsafe import Markup

from webapp.blueprints.admin_forms import translated
from webapp.blueprints.admin_lists import csv_response
from webapp.context import current_locale, current_org, moment
from webapp.db import db
from webapp.htmx import is_htmx
from webapp.languages import words_language
from webapp.login import admin_required
from webapp.services.admin import charts, lists, metrics
from webapp.services.core import preferences
from webapp.services.core.dates import Moment
from webapp.services.core.i18n import N_
from webapp.services.core.money import to_decimal
from webapp.snapshots import snapshots

STATUS_LABELS = {"trial": N_("Trial"), "live": N_("Live"), "non_renewing": N_("Non-renewing"),
                 "paused": N_("Paused"), "unpaid": N_("Unpaid"), "dunning": N_("Dunning")}

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _figures():
    at = moment()
    window, messages = metrics.read_window(request.args, at.today)
    reasons = tuple(preferences.load(db.session).cancellation_reasons or ())
    figures = metrics.home_figures(db.session, at=at, window=window, reasons=reasons)
    db.session.commit()  # the day's retention cohort, when this view took it
    return at, figures, messages


def _charts(figures: metrics.HomeFigures) -> dict:
    """Each currency's charts, by name (the page draws them, the CSV lists their data)."""
    return {
        "mrr": {c: charts.mrr_chart(h) for c, h in figures.history.items()},
        "movements": {c: charts.movements_chart(h) for c, h in figures.history.items()},
        "aging": {c: charts.aging_chart(figures.receivables, c)
                  for c in figures.receivables.aging},
        "reasons": {"all": charts.reasons_chart(figures.cancellation_reasons)}
        if figures.cancellation_reasons else {},
    }


@bp.get("/")
@admin_required
def index():
    """The admins' start page: revenue, subscriptions, receivables and payments. The panels
    are a snapshot drawn once per data version (webapp/snapshots.py): the next committed
    write by anyone, or the next day, draws them again. The page around them (the layout,
    the sidebar, the form's CSRF token) is drawn for each request."""
    at = moment()
    window, messages = metrics.read_window(request.args, at.today)
    panels = Markup(snapshots().get_or_render(
        db.session, _snapshot_key(at.today), lambda: _panels(at, window, messages)))
    if is_htmx():
        return panels, 200, {"Vary": "HX-Request"}
    return render_template("admin/home/index.html", panels=panels, window=window,
                           windows=translated(metrics.WINDOWS)), 200, {"Vary": "HX-Request"}


def _snapshot_key(today: date) -> tuple:
    """Everything the panels' HTML depends on besides the data: the organization's date (the
    aging buckets, the trials ending this week), the window's GET parameters, the locale of
    dates and amounts, the words' language, the organization's time zone and where the portal
    is mounted (its links)."""
    org = current_org()
    return ("admin-home", today.isoformat(),
            tuple(request.args.get(name) for name in ("window", "from", "to")),
            current_locale(), words_language(), org.timezone if org else None,
            request.script_root)


def _panels(at: Moment, window: metrics.Window, messages: list[str]) -> str:
    reasons = tuple(preferences.load(db.session).cancellation_reasons or ())
    figures = metrics.home_figures(db.session, at=at, window=window, reasons=reasons)
    db.session.commit()  # the day's retention cohort, when this view took it
    return render_template("partials/admin_home_panels.html", figures=figures,
                           charts=_charts(figures), window=window, messages=messages,
                           today=at.today, timedelta=timedelta,
                           status_labels=translated(STATUS_LABELS),
                           aging_labels=translated(lists.AGING_LABELS))


@bp.get("/home/<name>.csv")
@admin_required
def chart_csv(name: str):
    """A chart's data for one currency (`?currency=`), as the chart and its table show it."""
    _at, figures, _messages = _figures()
    key = request.args.get("currency", "all")
    chart = _charts(figures).get(name, {}).get(key)
    if chart is None:
        abort(404)
    if chart.currency is None:  # counts
        rows = [(chart.category_label, *chart.series), *((c, *v) for c, v in chart.rows())]
    else:
        rows = [(chart.category_label, _("currency"), *chart.series)]
        rows += [(category, chart.currency, *(to_decimal(v, chart.currency) for v in values))
                 for category, values in chart.rows()]
    return csv_response(rows, f"{name}-{key}.csv")
