"""`row_link`: a list's links to its rows' pages, built once per list, are what `url_for`
builds for each row (issue 32: `url_for` on every row was ~8% of an admin list's CPU)."""

from __future__ import annotations

import pytest
from flask import url_for

from webapp.templating import row_link


@pytest.mark.parametrize("script_root", ["", "/portal"])
@pytest.mark.parametrize("endpoint, key", [("invoices.detail", "invoice_id"),
                                           ("admin_customers.detail", "customer_id"),
                                           ("payments.receipt", "payment_id"),
                                           ("admin_subscriptions.detail", "subscription_id")])
def test_each_rows_link_is_url_fors(app, endpoint, key, script_root):
    with app.test_request_context("/", base_url=f"http://portal.test{script_root}"):
        link = row_link(endpoint, key)
        for value in (1, 7, 2_147_483_646, 42):
            assert link(value) == url_for(endpoint, **{key: value})
        assert link(5).startswith(f"{script_root}/")


def test_an_id_is_written_as_a_number(app):
    with app.test_request_context("/"):
        with pytest.raises(ValueError):
            row_link("invoices.detail", "invoice_id")("1/../../admin")


def test_an_endpoint_without_the_id_in_its_path_asks_url_for_each_time(app):
    with app.test_request_context("/"):
        link = row_link("invoices.index", "page")
        assert link(3) == url_for("invoices.index", page=3)
