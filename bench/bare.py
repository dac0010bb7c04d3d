"""A floor outside the portal: what anyone's plain Flask + SQLModel app does for the same
25-row table, on the same database, with no login and no middleware.

`gunicorn "bench.bare:create_app()"` (DATABASE_URL from the environment); `make bench` serves
it beside the portal in the same run, so a page's ratio to it says how the portal compares
with a plain Flask app, and the in-app floor's ratio says what the portal's own request
handling (the login, the request facts, the CSRF and security headers) costs.
"""

from __future__ import annotations

import os

from flask import Flask
from sqlalchemy import text
from sqlmodel import Session, create_engine

from bench.routes import TABLE

STATEMENT = text("SELECT number, issue_date, due_date, status, currency, total, amount_paid "
                 "FROM invoice ORDER BY id DESC LIMIT 25")


def create_app() -> Flask:
    app = Flask(__name__)
    engine = create_engine(os.environ["DATABASE_URL"])

    @app.get("/")
    def table():
        """One query for 25 invoice rows, rendered as a bare table."""
        with Session(engine) as session:
            rows = session.exec(STATEMENT).all()
        return TABLE.render(rows=rows)

    return app
