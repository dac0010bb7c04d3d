"""The admin home (issue 31): the page and its panels' htmx swap, the date window as GET
parameters (no JavaScript needed), every figure a link to its filtered list, the charts'
CSV matching their data, 404 for customers, and a constant number of statements."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from tests.web.app.test_query_counts import count_queries
from webapp import demo
from webapp.db import db
from webapp.services.admin import lists, metrics
from webapp.services.core.dates import Moment


@pytest.fixture
def admin(auth, seeded):
    auth.login(*demo.ADMIN)
    return auth


@pytest.mark.parametrize("path", ["/admin/", "/admin/home/mrr.csv?currency=USD"])
def test_customers_get_404(client, auth, seeded, path):
    auth.login()
    assert client.get(path).status_code == 404


def test_the_home_is_a_page_and_htmx_swaps_only_the_panels(client, admin):
    page = client.get("/admin/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html and 'id="admin-home-panels"' in html
    for heading in ("Recurring revenue", "Subscriptions", "Receivables", "Payments"):
        assert f">{heading}</h2>" in html
    assert "<svg" in html and "<script" not in html.split('id="admin-home-panels"')[1]
    assert "HX-Request" in page.headers["Vary"]
    swapped = client.get("/admin/?window=month", headers={"HX-Request": "true"})
    body = swapped.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="admin-home-panels"') and "<html" not in body


def test_the_window_is_read_from_get_parameters_without_javascript(app, client, admin):
    today = app.config["FIXED_NOW"].date()
    html = client.get("/admin/?window=custom&from=2026-01-01&to=2026-01-31").get_data(
        as_text=True)
    assert '<option value="custom" selected>' in html and 'value="2026-01-01"' in html
    assert "The 31 days before" in html
    assert 'href="/admin/subscriptions?status=cancelled&amp;date=cancelled&amp;' \
           'from=2026-01-01&amp;to=2026-01-31"' in html
    default = client.get("/admin/").get_data(as_text=True)
    assert '<option value="30d" selected>' in default
    start = (today - timedelta(days=29)).isoformat()
    assert f"from={start}&amp;to={today.isoformat()}" in default
    bad = client.get("/admin/?window=custom&from=2026-02-01&to=2026-01-01").get_data(
        as_text=True)
    assert "Showing the last 30 days" in bad


def test_every_figure_links_to_a_list_that_answers(client, admin):
    html = client.get("/admin/").get_data(as_text=True)
    links = set(re.findall(r'href="(/admin/(?:subscriptions|invoices|payments)\?[^"]*)"', html))
    assert len(links) > 15
    for link in links:
        assert client.get(link.replace("&amp;", "&")).status_code == 200, link


def test_the_chart_csv_matches_the_figures(app, client, admin):
    rows = list(csv.reader(io.StringIO(
        client.get("/admin/home/mrr.csv?currency=USD").get_data(as_text=True))))
    assert rows[0] == ["Month", "currency", "MRR"] and len(rows) == 13
    with app.app_context():
        today = app.config["FIXED_NOW"].date()
        exact = metrics.mrr_on(db.session, today)
    assert rows[-1][1:] == ["USD", f"{metrics.half_up(exact['USD']) / 100:.2f}"]
    movements = list(csv.reader(io.StringIO(
        client.get("/admin/home/movements.csv?currency=USD").get_data(as_text=True))))
    assert movements[0] == ["Month", "currency", "New", "Expansion", "Reactivation",
                            "Contraction", "Churn"]
    aging = list(csv.reader(io.StringIO(
        client.get("/admin/home/aging.csv?currency=USD").get_data(as_text=True))))
    assert [r[0] for r in aging[1:]] == list(lists.AGING_LABELS.values())
    assert client.get("/admin/home/nope.csv?currency=USD").status_code == 404
    assert client.get("/admin/home/mrr.csv?currency=XXX").status_code == 404


def test_a_customer_cancellation_shows_in_the_activity_and_the_reasons_chart(app, client,
                                                                          admin, now):
    from sqlmodel import select

    from webapp.models import Subscription
    from webapp.services.core import preferences
    from webapp.services.subscriptions import actions

    def reasons() -> dict[str, int]:
        rows = list(csv.reader(io.StringIO(client.get(
            "/admin/home/reasons.csv").get_data(as_text=True))))
        assert rows[0] == ["Reason", "Cancellations"]
        return {r[0]: int(r[1]) for r in rows[1:]}

    before = reasons()
    with app.app_context():
        session = db.session
        reason = preferences.load(session).cancellation_reasons[0]
        sub = session.exec(select(Subscription).where(Subscription.status == "live")
                           .order_by(Subscription.id)).first()
        timing = actions.cancel_options(session, customer_id=sub.customer_id,
                                        subscription_id=sub.id, now=now).timings[0]
        actions.cancel(session, customer_id=sub.customer_id, subscription_id=sub.id,
                       timing=timing, reason=reason, details="", now=now)
        session.commit()
        number = sub.number
    html = client.get("/admin/", headers={"HX-Request": "true"}).get_data(as_text=True)
    activity = html.split('id="activity-heading"')[1]
    assert number in activity and f"(reason: {reason})" in activity
    assert 'id="chart-reasons"' in activity
    assert reasons() == before | {reason: 1}


def test_the_figures_take_the_same_statements_for_1_and_1000_customers(app, seeded, now):
    """Constant: one customer (the demo's few), then a thousand more with subscriptions,
    invoices, payments and movements."""
    from tests.web.admin.scale import add_customers

    at = Moment(now, now.date(), "UTC")
    window = metrics.read_window({}, at.today)[0]
    engine = app.extensions["database"]

    def lists_read():
        lists.list_subscriptions(db.session, filters=lists.AdminSubscriptionFilters())
        lists.list_invoices(db.session, filters=lists.AdminInvoiceFilters(status="overdue"),
                            at=at)
        lists.list_payments(db.session, filters=lists.AdminPaymentFilters())

    def figures_read():
        """The day's retention cohort is taken by the first view (or again after movements
        dated before it): the statements counted are every later view's."""
        metrics.home_figures(db.session, at=at, window=window)
        db.session.commit()
        with count_queries(engine) as counted:
            figures = metrics.home_figures(db.session, at=at, window=window)
        db.session.commit()
        return counted, figures

    with app.app_context():
        # The lists translate their status labels once each; outside a request the first
        # translation reads the organization's language, once per app context.
        lists_read()
        few, _ = figures_read()
        with count_queries(engine) as few_lists:
            lists_read()
        add_customers(db.session, 1000, now=now)
        db.session.commit()
        many, figures = figures_read()
        with count_queries(engine) as many_lists:
            lists_read()
    assert len(many) == len(few) <= 12
    assert len(many_lists) == len(few_lists) <= 6
    by_status = figures.subscriptions.by_status
    assert by_status["live"].count + by_status["dunning"].count >= 1000
    assert figures.payments.dunning_count >= 250 and len(figures.payments.dunning) == 10


def test_the_demo_makes_a_meaningful_page(app, seeded, now):
    """Movements in several months, something overdue, a failed payment, a trial ending this
    week, customer activity and a cancellation reason."""
    at = Moment(now, now.date(), "UTC")
    with app.app_context():
        demo.seed_demo_activity(db.session, now=now)  # as `flask seed-demo` adds it
        db.session.commit()
        figures = metrics.home_figures(db.session, at=at,
                                       window=metrics.read_window({}, at.today)[0],
                                       reasons=("Too expensive",))
    moving = {m.month for h in figures.history.values() for m in h.months
              if any(m.moves.values())}
    assert len(moving) >= 3
    assert all(h.reconciles for h in figures.history.values())
    assert any(figures.receivables.overdue.values())
    assert figures.payments.failed and figures.payments.dunning
    assert figures.subscriptions.trials_ending >= 1
    assert figures.activity and sum(figures.cancellation_reasons.values()) >= 1


def test_retention_links_to_the_customers_it_counts(app, client, seeded, auth, now):
    """Net revenue retention's figure links to the customers who had MRR 12 months ago (the
    day's cohort), listed with the customers filter, JavaScript or not."""
    from tests.factories import make_customer, make_plan, make_subscription
    from webapp.models import MrrCohort
    from webapp.services.core import state_machine
    today = now.date()
    with app.app_context():
        plan = make_plan(db.session, now=now, code="retained-plan", amount=1000)
        for email, start in (("old-timer@example.com", today - timedelta(days=400)),
                             ("newcomer@example.com", today - timedelta(days=30))):
            customer = make_customer(db.session, now=now, email=email)
            sub = make_subscription(db.session, customer=customer, now=now, status="future",
                                    start=start, plan=plan)
            state_machine.transition(db.session, sub, "start", "live",
                                     now=datetime.combine(start, now.timetz()))
            db.session.commit()
    auth.login(*demo.ADMIN)
    home = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/customers?retained=yes"' in home
    html = client.get("/admin/customers?retained=yes").get_data(as_text=True)
    assert "old-timer@example.com" in html and "newcomer@example.com" not in html
    assert 'id="filter-retained" type="checkbox" name="retained" value="yes" checked' in html
    with app.app_context():
        cohort = {c.customer_id for c in db.session.exec(select(MrrCohort))}
    swapped = client.get("/admin/customers?retained=yes",
                         headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in swapped and swapped.count("admin-customer-row-") == len(cohort) >= 1
