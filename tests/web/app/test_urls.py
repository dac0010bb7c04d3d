"""url_for's memo: the same URLs as Flask builds, remembered only where that is safe."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask, url_for

from webapp import urls


def _flask_url(app, endpoint: str, **values) -> str:
    return Flask.url_for(app, endpoint, **values)


def test_a_url_is_built_once_and_then_remembered(app):
    with app.test_request_context("/invoices"):
        app.url_memo.clear()
        first = url_for("invoices.detail", invoice_id=7)
        assert first == _flask_url(app, "invoices.detail", invoice_id=7) == "/invoices/7"
        assert list(app.url_memo.values()) == ["/invoices/7"]
        assert url_for("invoices.detail", invoice_id=7) == first
        assert url_for("invoices.index", status="paid", page=2) == \
            _flask_url(app, "invoices.index", status="paid", page=2)
        assert len(app.url_memo) == 2


def test_the_script_root_and_the_blueprint_of_a_relative_endpoint_are_part_of_the_key(app):
    with app.test_request_context("/invoices"):
        assert url_for(".index") == "/invoices"
    with app.test_request_context("/payments"):
        assert url_for(".index") == "/payments"
    with app.test_request_context("/invoices", base_url="http://localhost/portal"):
        assert url_for(".index") == "/portal/invoices"
        assert url_for("invoices.detail", invoice_id=7) == "/portal/invoices/7"
    with app.test_request_context("/invoices"):
        assert url_for("invoices.detail", invoice_id=7) == "/invoices/7"


@pytest.mark.parametrize("kwargs", [
    {"_external": True}, {"_anchor": "lines"}, {"_method": "GET"},
    {"_external": True, "_scheme": "https"},
])
def test_external_urls_anchors_methods_and_schemes_are_not_remembered(app, kwargs):
    with app.test_request_context("/"):
        app.url_memo.clear()
        assert url_for("invoices.detail", invoice_id=7, **kwargs) == \
            Flask.url_for(app, "invoices.detail", invoice_id=7, **kwargs)
        assert app.url_memo == {}


def test_values_other_than_ints_and_strings_go_through_flask(app):
    with app.test_request_context("/"):
        app.url_memo.clear()
        assert url_for("invoices.index", status=None) == "/invoices"
        assert url_for("invoices.index", **{"from": date(2026, 1, 2)}) == \
            "/invoices?from=2026-01-02"
        assert url_for("invoices.detail", invoice_id=True) == \
            _flask_url(app, "invoices.detail", invoice_id=True)
        assert app.url_memo == {}


def test_an_app_with_url_defaults_builds_every_url_afresh(app):
    app.url_default_functions.setdefault(None, []).append(lambda endpoint, values: None)
    with app.test_request_context("/"):
        app.url_memo.clear()
        assert url_for("invoices.detail", invoice_id=7) == "/invoices/7"
        assert app.url_memo == {}


def test_the_memo_starts_again_when_full(app, monkeypatch):
    monkeypatch.setattr(urls, "MEMO_SIZE", 3)
    with app.test_request_context("/"):
        app.url_memo.clear()
        for invoice_id in range(1, 5):
            assert url_for("invoices.detail", invoice_id=invoice_id) == f"/invoices/{invoice_id}"
        assert list(app.url_memo.values()) == ["/invoices/4"]


def test_outside_a_request_urls_are_external_as_flask_makes_them(app):
    app.config["SERVER_NAME"] = "portal.example"
    with app.app_context():
        assert url_for("invoices.detail", invoice_id=7) == "http://portal.example/invoices/7"
    assert app.url_memo == {}
