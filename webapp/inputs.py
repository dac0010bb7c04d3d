"""The web side of the input filter (the rules are in webapp/services/core/text.py).

- Every `<int:…>` in a route takes 0 … 2^31−1 only: a larger id answers 404 like any unknown
  id, on both databases, instead of failing in the database (PostgreSQL's integer ends there;
  SQLite's at 2^63).
- A NUL in the path or in a query parameter is refused before any view runs: 404 for a path,
  422 with a message for a parameter. Form fields are filtered by the forms themselves
  (webapp/forms.py), so their refusals are messages next to the field.
"""

from __future__ import annotations

from flask import Flask, abort, request
from werkzeug.routing import IntegerConverter

from webapp.services.core import text


class IdConverter(IntegerConverter):
    """`int` in every route: an unsigned number that fits PostgreSQL's integer."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = 0,  # noqa: A002
                 max: int | None = text.MAX_ID, signed: bool = False) -> None:  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def _refuse_nul() -> None:
    if "\x00" in request.path:
        abort(404)
    if any("\x00" in name or "\x00" in value for name, value in request.args.items(multi=True)):
        abort(422, description="The address has a character the portal does not accept (NUL). "
                               "Remove it and try again.")


def register(app: Flask) -> None:
    """Before the blueprints: their rules take the converter when they are added."""
    app.url_map.converters["int"] = IdConverter
    app.before_request(_refuse_nul)


def arg_ids(name: str) -> list[int]:
    """The ids a query parameter lists (?invoice=3&invoice=4), sorted, each once; values that
    are not numbers are left out, and an id beyond the range answers 404 as in a path."""
    ids = {int(value) for value in request.args.getlist(name) if value.isdigit()}
    if any(not text.id_in_range(i) for i in ids):
        abort(404)
    return sorted(ids)


def arg_id(name: str) -> int | None:
    """One id from the query string (see arg_ids); None when it is missing."""
    ids = arg_ids(name)
    return ids[0] if ids else None


def arg_page() -> int:
    """?page=N: a page number from 1 up (a bad one is page 1), capped like list filters."""
    value = request.args.get("page", "")
    return min(int(value), 1_000_000) if value.isdigit() and int(value) >= 1 else 1
