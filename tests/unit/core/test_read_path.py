"""The read path: what every request reads first, and the lists' column reads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session

from tests.factories import make_customer, make_invoice, make_subscription, moment_on, pay
from tests.web.app.test_query_counts import count_queries
from webapp.models import (
    Addon,
    AddonPrice,
    Coupon,
    CouponAmount,
    Organization,
    Preferences,
    SubscriptionAddon,
    SubscriptionCoupon,
    User,
)
from webapp.services.accounts import request_facts, sessions
from webapp.services.accounts.auth import hash_password
from webapp.services.admin import lists as admin_lists
from webapp.services.billing import credits, invoices, tax
from webapp.services.billing.catalog import subscription_items
from webapp.services.billing.invoices import InvoiceFilters
from webapp.services.core.errors import NotFound
from webapp.services.home import overview
from webapp.services.payments import history as payments
from webapp.services.payments.history import PaymentFilters
from webapp.services.subscriptions import views as subscriptions
from webapp.services.subscriptions.views import SubscriptionFilters


def _org(session, now, **values) -> Organization:
    org = Organization(id=1, name="Acme", email="billing@acme.test", created_at=now,
                       locale="de_DE", timezone="Europe/Berlin", **values)
    session.add(org)
    return org


def _user(session, now, **values) -> User:
    user = User(email="jane@example.com", password_hash=hash_password("first-password"),
                role="customer", created_at=now, **values)
    session.add(user)
    session.commit()
    return user


def _login_id(session, user, now) -> str:
    """A sign-in of `user`, as the login cookie names it."""
    started = sessions.start(session, user_id=user.id, method="password", ip=None,
                             user_agent=None, now=now)
    session.commit()
    return request_facts.login_id(user.id, user.session_version, started.token)


def test_one_statement_answers_the_user_the_organization_and_the_preferences(
        session, engine, now):
    _org(session, now, portal_name="Acme Portal")
    session.add(Preferences(organization_id=1, module_invoices=False))
    user = _user(session, now)
    login_id = _login_id(session, user, now)
    with count_queries(engine) as statements:
        facts = request_facts.for_login(session, login_id)
    assert [s for s in statements if s.lstrip().upper().startswith("SELECT")] == statements[-1:]
    assert "JOIN organization" in statements[-1] and "JOIN preferences" in statements[-1]
    assert "JOIN user_session" in statements[-1]
    assert (facts.user.id, facts.user.email, facts.user.role) == (user.id, "jane@example.com",
                                                                  "customer")
    assert (facts.organization.portal_name, facts.organization.locale) == ("Acme Portal",
                                                                           "de_DE")
    assert facts.preferences.module_invoices is False
    assert facts.preferences.module_payments is Preferences().module_payments


def test_a_login_id_that_names_no_active_user_of_that_version_finds_nothing(session, now):
    user = _user(session, now)
    good = _login_id(session, user, now)
    token = good.split(":", 2)[2]
    assert request_facts.for_login(session, good) is not None
    for bad in ("", "x:1", f"{user.id}", f"{user.id}:x", f"{user.id + 1}:1:{token}",
                f"{user.id}:{user.session_version}", f"{user.id}:{user.session_version}:",
                f"{user.id}:{user.session_version}:not-{token}",
                f"{user.id}:{user.session_version + 1}:{token}"):
        assert request_facts.for_login(session, bad) is None, bad
    user.is_active = False
    session.commit()
    assert request_facts.for_login(session, good) is None


def test_a_login_id_of_an_ended_session_finds_nothing(session, now):
    user = _user(session, now)
    login_id = _login_id(session, user, now)
    sessions.end_all(session, user_id=user.id, reason="logout", now=now)
    session.commit()
    assert request_facts.for_login(session, login_id) is None


def test_without_an_organization_or_saved_preferences_the_defaults_answer(session, now):
    user = _user(session, now)
    facts = request_facts.for_login(session, _login_id(session, user, now))
    assert facts.organization is None
    assert request_facts.organization(session) is None
    defaults = Preferences(organization_id=1)
    for prefs in (facts.preferences, request_facts.preferences(session)):
        assert prefs.module_invoices == defaults.module_invoices
        assert prefs.cancel_timing == defaults.cancel_timing


def test_the_facts_are_read_afresh_each_time(session, engine, now):
    """Nothing is kept between requests: another session's change shows on the next read."""
    _org(session, now)
    session.add(Preferences(organization_id=1, module_invoices=True))
    user = _user(session, now)
    login_id = _login_id(session, user, now)
    assert request_facts.for_login(session, login_id).preferences.module_invoices is True
    with Session(engine) as admin:
        admin.get(Preferences, 1).module_invoices = False
        admin.get(Organization, 1).name = "Acme Ltd"
        admin.commit()
    session.commit()
    facts = request_facts.for_login(session, login_id)
    assert facts.preferences.module_invoices is False
    assert facts.organization.name == "Acme Ltd"
    assert request_facts.organization(session).name == "Acme Ltd"
    assert request_facts.preferences(session).module_invoices is False


def test_a_list_sees_changes_not_yet_flushed(session, now):
    """Lists read columns through the session's connection; pending changes go first."""
    customer = make_customer(session, now=now)
    first = make_invoice(session, customer=customer, now=now, amount=1000)
    session.commit()
    first.status = "void"
    listed = invoices.list_invoices(session, customer_id=customer.id,
                                    filters=InvoiceFilters(status="void"), at=moment_on(now.date()))
    assert [row.id for row in listed.items] == [first.id]


def test_the_invoice_list_filters_sorts_and_pages(session, now):
    customer = make_customer(session, now=now)
    other = make_customer(session, now=now, email="omar@example.com")
    today = now.date()
    made = [make_invoice(session, customer=customer, now=now, amount=100 * (i + 1),
                         issue=today - timedelta(days=40 - i)) for i in range(30)]
    make_invoice(session, customer=other, now=now, amount=999)
    pay(session, customer=customer, invoices=[made[0]], amount=100, now=now)
    session.commit()
    page2 = invoices.list_invoices(session, customer_id=customer.id,
                                   filters=InvoiceFilters(page=2), at=moment_on(today))
    assert page2.total == 30 and [r.id for r in page2.items] == [m.id for m in made[:5]][::-1]
    beyond = invoices.list_invoices(session, customer_id=customer.id,
                                    filters=InvoiceFilters(page=9), at=moment_on(today))
    assert (beyond.items, beyond.total, beyond.pages) == ((), 30, 2)
    nobody = make_customer(session, now=now, email="nobody@example.com")
    assert invoices.list_invoices(session, customer_id=nobody.id, filters=InvoiceFilters(),
                                  at=moment_on(today)).total == 0
    paid = invoices.list_invoices(session, customer_id=customer.id,
                                  filters=InvoiceFilters(status="paid"), at=moment_on(today))
    assert [r.id for r in paid.items] == [made[0].id] and paid.items[0].status == "paid"
    overdue = invoices.list_invoices(session, customer_id=customer.id,
                                     filters=InvoiceFilters(status="overdue", sort="oldest"),
                                     at=moment_on(today))
    due_before = [m.id for m in made[1:] if m.due_date < today]
    assert [r.id for r in overdue.items] == due_before
    window = invoices.list_invoices(
        session, customer_id=customer.id, at=moment_on(today),
        filters=InvoiceFilters(date_from=today - timedelta(days=12),
                               date_to=today - timedelta(days=11), sort="amount"))
    assert [r.total for r in window.items] == [3000, 2900]
    assert invoices.outstanding(session, customer_id=customer.id, at=moment_on(today)) == (
        sum(m.total for m in made[1:]), len(due_before))


def test_payments_subscriptions_and_the_dashboard_read_the_same_rows_as_before(session, now):
    customer = make_customer(session, now=now)
    today = now.date()
    sub = make_subscription(session, customer=customer, now=now)
    invoice = make_invoice(session, customer=customer, now=now, amount=2500,
                           subscription_id=sub.id)
    pay(session, customer=customer, invoices=[invoice], amount=2500, now=now, method="cash")
    session.commit()
    second = make_invoice(session, customer=customer, now=now, amount=700)
    pay(session, customer=customer, invoices=[second], amount=700, now=now, method="card")
    session.commit()
    everything = payments.list_payments(session, customer_id=customer.id,
                                        filters=PaymentFilters())
    assert (everything.total, len(everything.items)) == (2, 2)  # the count is not per row
    assert payments.list_payments(session, customer_id=customer.id, page_size=1,
                                  filters=PaymentFilters(page=3)).total == 2
    for window, expected in (((today, today), 2), ((today + timedelta(days=1), None), 0),
                             ((None, today - timedelta(days=1)), 0)):
        assert payments.list_payments(session, customer_id=customer.id, filters=PaymentFilters(
            date_from=window[0], date_to=window[1])).total == expected, window
    listed = payments.list_payments(session, customer_id=customer.id,
                                    filters=PaymentFilters(method="cash"))
    assert listed.total == 1 and listed.items[0].amount == 2500
    assert listed.items[0].method_label == "Cash"
    assert payments.list_payments(session, customer_id=customer.id,
                                  filters=PaymentFilters(method="cheque")).total == 0
    subs = subscriptions.list_subscriptions(session, customer_id=customer.id,
                                            filters=SubscriptionFilters(status="live"))
    assert [(r.id, r.plan_name, r.amount) for r in subs.items] == [(sub.id, "Test-Monthly",
                                                                    1000)]
    assert subscriptions.list_subscriptions(
        session, customer_id=customer.id,
        filters=SubscriptionFilters(plan="test-monthly")).total == 1
    assert subscriptions.list_subscriptions(
        session, customer_id=customer.id,
        filters=SubscriptionFilters(plan="no-such-plan")).total == 0
    board = overview.dashboard(session, customer_id=customer.id, at=moment_on(today))
    assert [r.id for r in board.next_renewals] == [sub.id]
    assert {r.id for r in board.recent_invoices} == {invoice.id, second.id}
    assert sorted(r.amount for r in board.recent_payments) == [700, 2500]
    assert board.unused_credit == credits.unused_credit(session, customer_id=customer.id) == 0


def test_the_lists_price_a_renewal_from_their_few_columns_as_the_whole_rows_do(session, now):
    """The dashboard and both subscription lists read only the columns a row shows and
    prices (catalog.LISTED_SUBSCRIPTION and the like): the amount is the one the billing core
    prices from whole rows, addons, an addon priced in another currency only, and coupons
    (a percentage still active, a fixed amount, one used up) counted."""
    customer = make_customer(session, now=now)
    sub = make_subscription(session, customer=customer, now=now)
    seat = Addon(code="seat", name="Seat", kind="recurring", created_at=now)
    setup = Addon(code="setup", name="Setup", kind="one_off", created_at=now)
    elsewhere = Addon(code="eu-seat", name="EU seat", kind="recurring", created_at=now)
    coupons = [Coupon(code="P15", name="15% once", discount_type="percentage", percent_bp=1500,
                      duration="once", created_at=now),
               Coupon(code="F5", name="5 off", discount_type="fixed", duration="forever",
                      created_at=now),
               Coupon(code="GONE", name="Used up", discount_type="percentage", percent_bp=5000,
                      duration="n_terms", duration_terms=1, created_at=now)]
    session.add_all([seat, setup, elsewhere, *coupons])
    session.flush()
    session.add_all([AddonPrice(addon_id=seat.id, currency="USD", unit_amount=333),
                     AddonPrice(addon_id=setup.id, currency="USD", unit_amount=5000),
                     AddonPrice(addon_id=elsewhere.id, currency="EUR", unit_amount=700),
                     CouponAmount(coupon_id=coupons[1].id, currency="USD", amount=500),
                     SubscriptionAddon(subscription_id=sub.id, addon_id=seat.id, quantity=3),
                     SubscriptionAddon(subscription_id=sub.id, addon_id=setup.id, quantity=1),
                     SubscriptionAddon(subscription_id=sub.id, addon_id=elsewhere.id,
                                       quantity=2),
                     SubscriptionCoupon(subscription_id=sub.id, coupon_id=coupons[0].id,
                                        applied_at=now),
                     SubscriptionCoupon(subscription_id=sub.id, coupon_id=coupons[1].id,
                                        applied_at=now),
                     SubscriptionCoupon(subscription_id=sub.id, coupon_id=coupons[2].id,
                                        terms_used=1, applied_at=now)])
    session.commit()
    whole = subscription_items(session, [sub])[sub.id]
    # (1000 + 3 × 333) less 15 %, less 5.00: 1999 − 299.85 − 500, rounded by the core.
    expected = whole.next_term_price(tax.tax_for(session, customer.id)).total
    assert 1199 <= expected <= 1200 and \
        whole.next_term_price(None).total == admin_lists.list_subscriptions(
            session, filters=admin_lists.AdminSubscriptionFilters(
                customer_id=customer.id)).items[0].amount
    board = overview.dashboard(session, customer_id=customer.id, at=moment_on(now.date()))
    listed = subscriptions.list_subscriptions(session, customer_id=customer.id,
                                              filters=SubscriptionFilters())
    assert [r.amount for r in board.next_renewals] == [r.amount for r in listed.items] == \
        [expected]
    assert (listed.items[0].plan_name, listed.items[0].per_interval) == ("Test-Monthly", "month")


def test_an_invoice_detail_is_read_as_rows_and_only_by_its_customer(session, now):
    customer = make_customer(session, now=now)
    other = make_customer(session, now=now, email="omar@example.com")
    sub = make_subscription(session, customer=customer, now=now)
    invoice = make_invoice(session, customer=customer, now=now, amount=1200,
                           subscription_id=sub.id)
    payment = pay(session, customer=customer, invoices=[invoice], amount=500, now=now)
    session.commit()
    detail = invoices.invoice_detail(session, customer_id=customer.id, invoice_id=invoice.id,
                                     at=moment_on(now.date()))
    assert (detail.invoice.number, detail.row.subscription_number) == (invoice.number,
                                                                       sub.number)
    assert [line.amount for line in detail.lines] == [1200]
    assert [(p.payment_id, p.amount) for p in detail.payments] == [(payment.id, 500)]
    assert detail.balance == 700 and detail.credits == ()
    with pytest.raises(NotFound):
        invoices.invoice_detail(session, customer_id=other.id, invoice_id=invoice.id,
                                at=moment_on(now.date()))


def test_sqlite_finds_a_pages_addons_and_coupons_by_their_subscription(sqlite_engine, now):
    """The stacks read a page's items by the subscription index (`catalog
    .items_statements_for`); joined to the page's CTE instead, SQLite's plan read every
    subscription's addons in id order. SQLite plans alike at any size (no statistics)."""
    from bench.explain import captured

    with Session(sqlite_engine) as session:
        customer = make_customer(session, now=now, email="plans@example.com")
        make_subscription(session, customer=customer, now=now)
        session.commit()
        with captured(sqlite_engine) as statements:
            overview.dashboard(session, customer_id=customer.id, at=moment_on(now.date()))
            subscriptions.list_subscriptions(session, customer_id=customer.id,
                                             filters=SubscriptionFilters())
            admin_lists.list_subscriptions(session, filters=admin_lists.AdminSubscriptionFilters())
        stacks = [(sql, params) for sql, params in statements if "subscription_addon" in sql]
        assert len(stacks) == 3
        for sql, params in stacks:
            plan = [row[-1] for row in session.connection().exec_driver_sql(
                "EXPLAIN QUERY PLAN " + sql, params)]
            assert any(step.startswith("SEARCH subscription_addon USING") for step in plan), plan
            assert any(step.startswith("SEARCH subscription_coupon USING") for step in plan), plan
            assert not [step for step in plan if step.startswith(
                ("SCAN subscription_addon", "SCAN subscription_coupon"))], plan
