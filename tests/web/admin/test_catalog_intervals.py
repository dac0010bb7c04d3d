"""The admin catalog's intervals (issue 30): day, week, month or year and a count, with and
without htmx; a refused interval is named next to its field and nothing is saved; the catalog,
the customer's subscription pages and its invoice print "every 2 weeks"."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from tests.conftest import post_form
from tests.web.documents.test_pay_online import pdf_text
from webapp import demo
from webapp.db import db
from webapp.models import Customer, Invoice, Plan, PlanPrice, Subscription
from webapp.services.billing import terms
from webapp.services.core import numbering

NEW = "/admin/catalog/plans/new"
PLAN = {"code": "gym-fortnightly", "name": "Gym fortnightly", "interval_count": "2",
        "interval_unit": "week", "trial_days": "0", "billing_cycles": "", "price_USD": "28"}


@pytest.fixture
def admin(auth, seeded):
    auth.login(*demo.ADMIN)
    return auth


def test_the_plan_form_offers_day_week_month_and_year(client, admin):
    html = client.get(NEW).get_data(as_text=True)
    for value, label in (("day", "Day"), ("week", "Week"), ("month", "Month"), ("year", "Year")):
        assert f'<option value="{value}">{label}</option>' in html or \
            f'<option selected value="{value}">{label}</option>' in html
    assert 'hx-post="/admin/catalog/plans"' in html and 'id="admin-catalog-plan-form"' in html


@pytest.mark.parametrize("htmx", [False, True])
def test_an_admin_adds_an_every_2_weeks_plan(client, admin, app, htmx):
    response = post_form(client, "/admin/catalog/plans", PLAN, htmx=htmx, token_from=NEW)
    if htmx:
        assert response.status_code == 200
        assert response.headers["HX-Redirect"].endswith("/admin/catalog#plans")
    else:
        assert response.status_code == 303
        assert response.headers["Location"].endswith("/admin/catalog#plans")
    assert "HX-Request" in response.headers["Vary"]
    catalog = client.get("/admin/catalog").get_data(as_text=True)
    assert "gym-fortnightly was added." in catalog and "every 2 weeks" in catalog
    with app.app_context():
        plan = db.session.exec(select(Plan).where(Plan.code == "gym-fortnightly")).one()
        assert (plan.interval_unit, plan.interval_count) == ("week", 2)


@pytest.mark.parametrize("htmx", [False, True])
@pytest.mark.parametrize(("data", "field", "message"), [
    ({"interval_unit": "fortnight"}, "interval_unit", "Choose day, week, month or year."),
    ({"interval_count": "105"}, "interval_count", "Enter a whole number from 1 to 104."),
    ({"interval_unit": "day", "interval_count": "400"}, "interval_count",
     "Enter a whole number from 1 to 365."),
    ({"interval_count": "0"}, "interval_count", "Enter a whole number from 1 to 104."),
])
def test_a_refused_interval_is_named_next_to_its_field(client, admin, app, htmx, data, field,
                                                       message):
    response = post_form(client, "/admin/catalog/plans", {**PLAN, **data}, htmx=htmx,
                         token_from=NEW)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "HX-Request" in response.headers["Vary"]
    assert f'id="{field}-errors" class="field-error">{message}</small>' in html
    assert 'value="Gym fortnightly"' in html  # what was typed is kept
    if htmx:  # only the form, to swap in place
        assert html.lstrip().startswith('<form id="admin-catalog-plan-form"')
        assert "<html" not in html
    else:
        assert "<html" in html and 'id="admin-catalog-plan-form"' in html
    with app.app_context():
        assert db.session.exec(select(Plan).where(Plan.code == "gym-fortnightly")).first() is None


def test_the_customer_pages_and_the_invoice_pdf_say_every_2_weeks(client, auth, app, seeded):
    start = date(2026, 11, 2)
    now = datetime(2026, 11, 2, 10, tzinfo=UTC)
    with app.app_context():
        session = db.session
        customer = session.get(Customer, seeded.jane_customer_id)
        plan = Plan(code="gym-2w", name="Gym", interval_unit="week", interval_count=2,
                    created_at=now)
        session.add(plan)
        session.flush()
        session.add(PlanPrice(plan_id=plan.id, currency=customer.currency, amount=2800))
        sub = Subscription(number=numbering.take_one(session, "subscription"),
                           customer_id=customer.id, plan_id=plan.id, currency=customer.currency,
                           status="live", start_date=start, anchor_day=start.day,
                           created_at=now, updated_at=now)
        session.add(sub)
        session.flush()
        draft = terms.draft(session, sub, terms.Term(start, "first_term"), tax_rate_bp=None)
        invoice = terms.issue(session, sub, draft, issue_date=start, due_date=start, now=now)
        sub.current_term_start, sub.current_term_end = draft.period.start, draft.period.end
        sub.next_billing_date = draft.period.end
        session.commit()
        sub_id, invoice_id = sub.id, invoice.id
        assert draft.period.end == start + timedelta(weeks=2)
    auth.login()
    detail = client.get(f"/subscriptions/{sub_id}").get_data(as_text=True)
    assert "Billed every 2 weeks" in detail and "/ 2 weeks" in detail
    assert "/ 2 weeks" in client.get("/subscriptions").get_data(as_text=True)
    page = client.get(f"/invoices/{invoice_id}").get_data(as_text=True)
    assert "Billed every 2 weeks" in page
    text = pdf_text(client.get(f"/invoices/{invoice_id}.pdf").data)
    assert "Billed every 2 weeks" in text
    with app.app_context():
        assert db.session.get(Invoice, invoice_id).period_end == date(2026, 11, 16)
