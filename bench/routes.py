"""The bench's floor: the least this app can do for a page and for a fragment.

Registered only by the bench's own app (bench/wsgi.py), never by the portal's factory, so it
never ships in a running portal. `make bench` loads the real pages beside these in the same gunicorn and
reports each page's throughput as a ratio of them. These handlers are deliberately bare (a
query in the view, a plain Jinja template without the layout or context processors): they
measure Flask, the database driver and Jinja, not the portal. `/layout` is the other end, a
reference rather than a floor: a logged-in customer's page in the portal's layout with no data
of its own, which shows what being a portal page costs before a page reads anything.
`/signed-in-fragment` is the same for fragments: the bare fragment behind the customer's login,
the least any of the portal's own fragments can cost. `/signed-in-fragment/one-read` adds one
statement that reads nothing (`SELECT 1`): the most a fragment that reads the login and one
statement of its own can reach. `/signed-in-fragment/portal` reads nothing more than the
signed-in fragment but is written as the portal writes its fragments: `render_template`, its
context, the template found in the reader's language (bench/templates/bench/fragment.html,
the same HTML): the most any of the portal's fragments can reach, such as the polled forward
status, whose read rides in the login's statement (issue 32).
"""

from __future__ import annotations

from flask import Blueprint, render_template
from jinja2 import Environment
from sqlalchemy import text

from webapp.db import db
from webapp.login import customer_required
from webapp.services.core.listing import read

bp = Blueprint("bench", __name__, url_prefix="/_bench", template_folder="templates")

_jinja = Environment(autoescape=True)
# The same shape as the invoice list: 25 rows of 7 cells.
TABLE = _jinja.from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bench table</title></head><body>
<table id="bench-table">
<thead><tr><th>Invoice</th><th>Date</th><th>Due</th><th>Status</th><th>Currency</th><th>Total</th><th>Paid</th></tr></thead>
<tbody>
{% for row in rows %}<tr><td>{{ row.number }}</td><td>{{ row.issue_date }}</td><td>{{ row.due_date }}</td><td>{{ row.status }}</td><td>{{ row.currency }}</td><td>{{ row.total }}</td><td>{{ row.amount_paid }}</td></tr>
{% endfor %}</tbody></table></body></html>""")
FRAGMENT = _jinja.from_string("""<section id="bench-fragment">
<h2>Bench fragment</h2>
<ul>
{% for item in items %}<li class="bench-item">Item {{ item }}: a short line of text that pads this fragment towards one kilobyte.</li>
{% endfor %}</ul>
</section>""")
_ITEMS = tuple(range(1, 10))


@bp.get("/table")
def table():
    """One query for 25 invoice rows, rendered as a bare table."""
    rows = db.session.execute(text(
        "SELECT number, issue_date, due_date, status, currency, total, amount_paid "
        "FROM invoice ORDER BY id DESC LIMIT 25")).all()
    return TABLE.render(rows=rows)


@bp.get("/fragment")
def fragment():
    """About 1 KB of HTML, no query."""
    return FRAGMENT.render(items=_ITEMS)


@bp.get("/layout")
@customer_required
def layout():
    """The portal's layout for a logged-in customer and nothing else: login, the preferences,
    the sidebar, the CSRF token, the footer."""
    return render_template("bench/layout.html")


@bp.get("/signed-in-fragment")
@customer_required
def signed_in_fragment():
    """The bare fragment for a logged-in customer: the login's reads and nothing else."""
    return FRAGMENT.render(items=_ITEMS)


_NOTHING = text("SELECT 1")


@bp.get("/signed-in-fragment/one-read")
@customer_required
def signed_in_fragment_one_read():
    """The signed-in fragment after one statement more that reads nothing, through the path
    the portal's own statements take (`listing.read`): a polled fragment's ceiling."""
    read(db.session, _NOTHING, {}).all()
    return FRAGMENT.render(items=_ITEMS)


@bp.get("/signed-in-fragment/portal")
@customer_required
def signed_in_fragment_portal():
    """The signed-in fragment written by the portal's own templates: a fragment's ceiling."""
    return render_template("bench/fragment.html", items=_ITEMS)
