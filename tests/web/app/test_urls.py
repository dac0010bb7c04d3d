"""The portal's URLs: relative endpoints, script roots, anchors, external URLs and values."""

from __future__ import annotations

from datetime import date

import pytest
from flask import url_for


def test_a_detail_and_a_filtered_list_url(app):
    with app.test_request_context("/invoices"):
        assert url_for("invoices.detail", invoice_id=7) == "/invoices/7"
        assert url_for("invoices.index", status="paid", page=2) == \
            "/invoices?status=paid&page=2"


def test_the_script_root_and_the_blueprint_of_a_relative_endpoint_shape_the_url(app):
    with app.test_request_context("/invoices"):
        assert url_for(".index") == "/invoices"
    with app.test_request_context("/payments"):
        assert url_for(".index") == "/payments"
    with app.test_request_context("/invoices", base_url="http://localhost/portal"):
        assert url_for(".index") == "/portal/invoices"
        assert url_for("invoices.detail", invoice_id=7) == "/portal/invoices/7"
    with app.test_request_context("/invoices"):
        assert url_for("invoices.detail", invoice_id=7) == "/invoices/7"


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"_external": True}, "http://localhost/invoices/7"),
    ({"_anchor": "lines"}, "/invoices/7#lines"),
    ({"_method": "GET"}, "/invoices/7"),
    ({"_external": True, "_scheme": "https"}, "https://localhost/invoices/7"),
])
def test_external_urls_anchors_methods_and_schemes(app, kwargs, expected):
    with app.test_request_context("/"):
        assert url_for("invoices.detail", invoice_id=7, **kwargs) == expected


def test_values_other_than_ints_and_strings(app):
    with app.test_request_context("/"):
        assert url_for("invoices.index", status=None) == "/invoices"
        assert url_for("invoices.index", **{"from": date(2026, 1, 2)}) == \
            "/invoices?from=2026-01-02"


def test_outside_a_request_urls_are_external(app):
    app.config["SERVER_NAME"] = "portal.example"
    with app.app_context():
        assert url_for("invoices.detail", invoice_id=7) == "http://portal.example/invoices/7"


def test_the_sidebar_links_carry_the_script_root_of_the_request(client, auth, seeded):
    auth.login()
    home = client.get("/").get_data(as_text=True)
    mounted = client.get("/", base_url="http://localhost/portal").get_data(as_text=True)
    assert '<a href="/invoices">Invoices</a>' in home
    assert '<a href="/portal/invoices">Invoices</a>' in mounted
    assert '<a href="/portal/" aria-current="page">Home</a>' in mounted
