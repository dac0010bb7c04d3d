"""Request facts are loaded explicitly before the request's own work (webapp/context.py):
the signed-in user with the organization and preferences in the one login statement, and the
request's Moment; without a signed-in user they are read on first use, once."""

from __future__ import annotations

import re

from flask import g
from sqlalchemy import event

from webapp import context
from webapp.services.core.dates import Moment


def _statements(app, path, client):
    seen = []

    def before(_conn, _cursor, statement, *_args):
        seen.append(statement)

    engine = app.extensions["database"]
    event.listen(engine, "before_cursor_execute", before)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return seen


def test_before_the_view_runs_the_facts_are_in_g(app, seeded, auth, client):
    seen = {}

    @app.get("/_facts")
    def facts():
        seen.update(org=g.get("org"), preferences=g.get("preferences"),
                    moment=g.get("moment"))
        return ""

    auth.login()
    assert client.get("/_facts").status_code == 200
    assert seen["org"].name and seen["preferences"] is not None
    fixed = app.config["FIXED_NOW"]
    assert seen["moment"] == Moment.at(fixed, seen["org"].timezone)


def test_an_anonymous_request_reads_the_facts_on_first_use_once(app, seeded, client):
    seen = {}

    @app.get("/_anonymous")
    def anonymous():
        seen.update(before="org" in g, moment=context.moment(), again=context.moment(),
                    org=context.current_org())
        return ""

    assert client.get("/_anonymous").status_code == 200
    assert not seen["before"] and seen["org"].name
    assert seen["moment"] is seen["again"]
    assert seen["moment"] == Moment.at(app.config["FIXED_NOW"], seen["org"].timezone)


def test_a_signed_in_page_reads_the_organization_only_in_the_login_statement(app, seeded,
                                                                             auth, client):
    auth.login()
    statements = _statements(app, "/", client)
    reading_org = [s for s in statements if re.search(r"\b(FROM|JOIN) organization\b", s)]
    assert len(reading_org) == 1 and re.search(r"\bFROM \"?user\"?\b", reading_org[0])


def test_static_files_read_nothing(app, seeded, auth, client):
    auth.login()
    assert _statements(app, "/static/css/pico-2.1.1.min.css", client) == []


def test_outside_a_request_the_facts_load_on_first_use(app, seeded):
    with app.test_request_context():
        assert "org" not in g
        org = context.current_org()
        assert context.moment() == Moment.at(app.config["FIXED_NOW"], org.timezone)
        assert context.today() == context.moment().today and context.now() == context.moment().now
