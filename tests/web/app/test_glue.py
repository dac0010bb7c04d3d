"""The web glue every blueprint shares: `form.show(error)` (webapp/forms.py), `finish` and
`render_page` (webapp/htmx.py), with and without the HX-Request header."""

from __future__ import annotations

import pytest
from flask import Flask, get_flashed_messages
from wtforms import FieldList, FormField, StringField

from tests.conftest import post_form
from webapp import demo
from webapp.forms import RAISE, FlaskForm, Form
from webapp.htmx import finish, render_page
from webapp.services.core.errors import InvalidInput
from webapp.services.core.preferences import InvalidChanges

HTMX = {"HX-Request": "true"}


@pytest.fixture
def bare_app():
    """A Flask app without a database: enough for forms, flashes and redirects."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY="glue", WTF_CSRF_ENABLED=False, MONEY_INPUT_MAX=10**9)
    return app


class Row(Form):
    quantity = StringField("Quantity")


class AboveForm(FlaskForm):
    name = StringField("Name")
    tax_rate = StringField("Tax rate")
    lines = FieldList(FormField(Row), min_entries=2)
    error_fields = {"tax_rate_bp": "tax_rate"}  # noqa: RUF012


class ToNameForm(AboveForm):
    unplaced_errors = "name"


class RaisingForm(AboveForm):
    unplaced_errors = RAISE


def _form(bare_app, form_class):
    with bare_app.test_request_context(method="POST"):
        return form_class()


def test_show_puts_the_message_next_to_its_field(bare_app):
    form = _form(bare_app, AboveForm)
    form.show(InvalidInput("Too long.", field="name"))
    assert form.name.errors == ["Too long."]
    assert not form.form_errors


def test_show_maps_a_service_field_to_the_form_field_of_another_name(bare_app):
    form = _form(bare_app, AboveForm)
    form.show(InvalidInput("Enter a percentage.", field="tax_rate_bp"))
    assert form.tax_rate.errors == ["Enter a percentage."]


def test_show_finds_fields_inside_rows_and_the_row_list_itself(bare_app):
    form = _form(bare_app, AboveForm)
    form.show(InvalidChanges({"lines-1-quantity": "Whole numbers.", "lines": "Add a line."}))
    assert form.lines[1].quantity.errors == ["Whole numbers."]
    assert not form.lines[0].quantity.errors
    assert "Add a line." in form.lines.errors


def test_show_puts_each_of_several_messages_next_to_its_field(bare_app):
    form = _form(bare_app, AboveForm)
    form.show(InvalidChanges({"name": "Required.", "tax_rate_bp": "At most 100%."}))
    assert form.name.errors == ["Required."]
    assert form.tax_rate.errors == ["At most 100%."]


def test_a_message_about_no_field_of_the_form_goes_above_it_by_default(bare_app):
    form = _form(bare_app, AboveForm)
    form.show(InvalidChanges({"addon_3": "At most 999.", "": "Nothing to save."}))
    assert form.form_errors == ["At most 999.", "Nothing to save."]
    assert form.extra_errors == {"addon_3": "At most 999.", "": "Nothing to save."}
    assert not form.name.errors and not form.tax_rate.errors


def test_a_form_can_send_messages_about_no_field_to_one_of_its_fields(bare_app):
    form = _form(bare_app, ToNameForm)
    form.show(InvalidInput("Refused."))
    form.show(InvalidInput("Unknown.", field="nope"))
    assert form.name.errors == ["Refused.", "Unknown."]
    assert not form.form_errors


def test_a_form_can_refuse_messages_about_no_field_by_raising_them(bare_app):
    form = _form(bare_app, RaisingForm)
    form.show(InvalidInput("Too long.", field="name"))
    assert form.name.errors == ["Too long."]
    error = InvalidInput("Not possible now.")
    with pytest.raises(InvalidInput) as raised:
        form.show(error)
    assert raised.value is error


# --- finish and render_page -------------------------------------------------------------------

def test_finish_redirects_a_browser_with_the_message_flashed(bare_app):
    with bare_app.test_request_context(method="POST"):
        response = finish("/done", "Saved.")
        assert response.status_code == 303
        assert response.headers["Location"] == "/done"
        assert response.headers["Vary"] == "HX-Request"
        assert get_flashed_messages(with_categories=True) == [("success", "Saved.")]


def test_finish_tells_htmx_to_navigate_with_the_message_flashed(bare_app):
    with bare_app.test_request_context(method="POST", headers=HTMX):
        body, status, headers = finish("/done", "Declined.", "error")
        assert (body, status) == ("", 200)
        assert headers == {"HX-Redirect": "/done", "Vary": "HX-Request"}
        assert get_flashed_messages(with_categories=True) == [("error", "Declined.")]


def test_finish_without_a_message_flashes_nothing(bare_app):
    with bare_app.test_request_context(method="POST"):
        finish("/done")
        assert get_flashed_messages() == []


def test_render_page_answers_the_fragment_to_htmx_with_the_status_asked_for(app):
    with app.test_request_context(headers=HTMX):
        body, status, headers = render_page("error.html", "flash_message", status=409,
                                            message="Not now.")
    assert status == 409 and headers == {"Vary": "HX-Request"}
    assert "Not now." in body and "<html" not in body


# --- on real pages -----------------------------------------------------------------------------

@pytest.fixture
def admin(auth, seeded):
    auth.login(*demo.ADMIN)
    return auth


PLAN = {"code": "gold", "name": "Gold", "interval_count": "1", "interval_unit": "year",
        "trial_days": "7", "billing_cycles": "", "price_USD": "990", "setup_EUR": ""}


def test_a_saved_plan_redirects_the_browser_with_vary(client, admin):
    response = post_form(client, "/admin/catalog/plans", PLAN,
                         token_from="/admin/catalog/plans/new")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/catalog#plans")
    assert "HX-Request" in response.headers["Vary"]
    assert "gold was added." in client.get("/admin/catalog").get_data(as_text=True)


def test_a_saved_plan_sends_htmx_to_the_catalog_with_vary(client, admin):
    response = post_form(client, "/admin/catalog/plans", PLAN, htmx=True,
                         token_from="/admin/catalog/plans/new")
    assert response.status_code == 200
    assert response.headers["HX-Redirect"].endswith("/admin/catalog#plans")
    assert "HX-Request" in response.headers["Vary"]
    assert "gold was added." in client.get("/admin/catalog").get_data(as_text=True)


@pytest.mark.parametrize("htmx", [False, True])
def test_a_service_message_is_shown_next_to_its_field_with_and_without_htmx(client, admin,
                                                                            htmx):
    response = post_form(client, "/admin/catalog/plans", {**PLAN, "price_USD": "12.345"},
                         htmx=htmx, token_from="/admin/catalog/plans/new")
    assert response.status_code == 422
    assert "HX-Request" in response.headers["Vary"]
    assert 'id="price_USD-errors" class="field-error">USD amounts have at most 2' in \
        response.get_data(as_text=True)
