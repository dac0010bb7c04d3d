"""The bench's bare floor routes exist only when the bench asks for them."""

import pytest

from bench.wsgi import create_app
from tests.conftest import FIXED_NOW, Auth
from tests.web.app.test_query_counts import count_queries


def test_the_floor_routes_are_absent_from_a_normal_portal(client):
    assert client.get("/_bench/table").status_code == 404
    assert client.get("/_bench/fragment").status_code == 404
    assert client.get("/_bench/signed-in-fragment").status_code == 404


@pytest.fixture
def bench_client(app, seeded):
    bench_app = create_app({**app.config, "FIXED_NOW": FIXED_NOW})
    return bench_app.test_client()


def test_the_floor_table_has_the_invoice_lists_shape(bench_client):
    body = bench_client.get("/_bench/table").get_data(as_text=True)
    rows = body.count("<tr><td>")
    assert 'id="bench-table"' in body and 0 < rows <= 25 and body.count("<td>") == 7 * rows


def test_the_floor_fragment_is_about_a_kilobyte(bench_client):
    response = bench_client.get("/_bench/fragment")
    assert response.status_code == 200 and 800 <= len(response.data) <= 1400


def test_the_layout_reference_is_a_logged_in_customers_page(bench_client, seeded):
    assert bench_client.get("/_bench/layout").status_code == 302  # to the login form
    Auth(bench_client).login()
    body = bench_client.get("/_bench/layout").get_data(as_text=True)
    assert 'id="bench-layout"' in body and 'class="sidebar"' in body
    assert 'name="csrf_token"' in body


def test_the_signed_in_fragment_is_the_bare_fragment_behind_the_login(bench_client, seeded):
    assert bench_client.get("/_bench/signed-in-fragment").status_code == 302  # to the login
    Auth(bench_client).login()
    response = bench_client.get("/_bench/signed-in-fragment")
    assert response.status_code == 200
    assert response.data == bench_client.get("/_bench/fragment").data


def _statements_beside_the_signed_in_fragment(client, path: str) -> tuple[list, list, object]:
    """The statements of the signed-in fragment and of `path` (an htmx request), signed in."""
    assert client.get(path).status_code == 302
    Auth(client).login()
    client.get("/_bench/signed-in-fragment")
    with count_queries(client.application.extensions["database"]) as alone:
        client.get("/_bench/signed-in-fragment")
    with count_queries(client.application.extensions["database"]) as beside:
        response = client.get(path, headers={"HX-Request": "true"})
    assert response.status_code == 200
    return alone, beside, response


def test_the_one_read_fragment_reads_one_statement_after_the_login(bench_client, seeded):
    alone, one_more, response = _statements_beside_the_signed_in_fragment(
        bench_client, "/_bench/signed-in-fragment/one-read")
    assert response.data == bench_client.get("/_bench/fragment").data
    assert len(one_more) == len(alone) + 1 and one_more[-1].strip() == "SELECT 1"


def test_the_portal_template_fragment_is_the_same_html_with_no_read_of_its_own(
        bench_client, seeded):
    """The fragments' second ceiling: the signed-in fragment written by the portal's
    templates in the reader's language, reading nothing more."""
    alone, portal, response = _statements_beside_the_signed_in_fragment(
        bench_client, "/_bench/signed-in-fragment/portal")
    assert len(portal) == len(alone)
    assert response.get_data(as_text=True).strip() == \
        bench_client.get("/_bench/fragment").get_data(as_text=True).strip()


def test_the_plain_flask_app_serves_the_same_table_with_no_login(app, seeded, monkeypatch):
    """bench/bare.py: the floor outside the portal reads the same rows as the in-app one."""
    from bench import bare

    monkeypatch.setenv("DATABASE_URL", app.config["DATABASE_URL"])
    plain = bare.create_app().test_client().get("/")
    in_app = create_app({**app.config, "FIXED_NOW": FIXED_NOW}).test_client().get(
        "/_bench/table")
    assert plain.status_code == 200 and 'id="bench-table"' in plain.get_data(as_text=True)
    assert plain.get_data(as_text=True) == in_app.get_data(as_text=True)
    assert "Set-Cookie" not in plain.headers
