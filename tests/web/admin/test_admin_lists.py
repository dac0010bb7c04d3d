"""The admin-wide lists (issue 31): every customer's subscriptions, invoices and payments,
filters as GET parameters (no JavaScript needed), htmx swapping only the list, CSV downloads
with the same filters, and 404 for customers."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlmodel import select

from webapp import demo
from webapp.db import db
from webapp.models import Customer, Invoice, Payment, Subscription

LISTS = ("/admin/subscriptions", "/admin/invoices", "/admin/payments", "/admin/credits")


@pytest.fixture
def admin(auth, seeded):
    auth.login(*demo.ADMIN)
    return auth


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


@pytest.mark.parametrize("path", [*LISTS, *(p + ".csv" for p in LISTS)])
def test_customers_get_404(client, auth, seeded, path):
    auth.login()  # Jane
    assert client.get(path).status_code == 404


# Every customer's rows (the demo's credit notes are all Jane's).
@pytest.mark.parametrize("path, section, names", [
    ("/admin/subscriptions", "subscription-list", ("Jane Cooper", "Omar Haddad")),
    ("/admin/invoices", "invoice-list", ("Jane Cooper", "Omar Haddad")),
    ("/admin/payments", "payment-list", ("Jane Cooper", "Omar Haddad")),
    ("/admin/credits", "credit-list", ("Jane Cooper",))])
def test_each_list_is_a_page_and_htmx_swaps_only_the_list(client, admin, path, section, names):
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html and f'id="{section}"' in html
    assert all(name in html for name in names)
    assert "HX-Request" in page.headers["Vary"]
    swapped = client.get(path, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert swapped.lstrip().startswith(f'<section id="{section}"') and "<html" not in swapped
    assert swapped.count(f'id="{section.removesuffix("-list")}-row-') >= len(names)


def test_the_invoice_list_filters_by_currency_and_status_without_javascript(app, client, admin):
    html = client.get("/admin/invoices?currency=EUR&status=paid").get_data(as_text=True)
    with app.app_context():
        omar = db.session.exec(select(Customer).where(Customer.currency == "EUR")).one()
        paid = db.session.exec(select(Invoice).where(Invoice.customer_id == omar.id,
                                                     Invoice.status == "paid")).all()
        others = db.session.exec(select(Invoice).where(Invoice.currency == "USD")).all()
    assert paid and all(f'id="invoice-row-{i.id}"' in html for i in paid)
    assert not any(f'id="invoice-row-{i.id}"' in html for i in others)
    assert '<option value="EUR" selected>' in html  # the form shows what was asked


def test_the_overdue_filter_and_aging_bucket_list_open_invoices_past_due(app, client, admin):
    today = app.config["FIXED_NOW"].date()
    with app.app_context():
        overdue = db.session.exec(select(Invoice).where(Invoice.status == "open",
                                                        Invoice.due_date < today)).all()
        current = db.session.exec(select(Invoice).where(Invoice.status == "open",
                                                        Invoice.due_date >= today)).all()
    assert overdue, "the demo has overdue invoices"
    html = client.get("/admin/invoices?overdue=yes").get_data(as_text=True)
    assert all(f'id="invoice-row-{i.id}"' in html for i in overdue)
    assert not any(f'id="invoice-row-{i.id}"' in html for i in current)
    rows = _csv(client.get("/admin/invoices.csv?aging=current"))
    assert {r[0] for r in rows[1:]} == {i.number for i in current}


def test_a_bad_filter_is_ignored_with_a_message(client, admin):
    html = client.get("/admin/subscriptions?status=bogus&currency=XXX").get_data(as_text=True)
    assert "Ignored the status filter" in html and "Ignored the currency filter" in html
    assert 'id="subscription-list"' in html


def test_the_subscription_list_filters_by_status_and_pages(app, client, admin):
    with app.app_context():
        live = db.session.exec(select(Subscription).where(Subscription.status == "live")).all()
    html = client.get("/admin/subscriptions?status=live&sort=oldest").get_data(as_text=True)
    assert all(f'id="subscription-row-{s.id}"' in html for s in live)
    rows = _csv(client.get("/admin/subscriptions.csv?status=live"))
    assert rows[0][0] == "number" and sorted(r[0] for r in rows[1:]) == \
        sorted(s.number for s in live)
    assert {r[4] for r in rows[1:]} == {"live"}


def test_the_pager_keeps_the_filters(app, client, admin, now):
    from tests.factories import make_customer, make_invoice
    with app.app_context():
        customer = make_customer(db.session, now=now, email="many@example.com", currency="GBP")
        for _ in range(30):
            make_invoice(db.session, customer=customer, now=now)
        db.session.commit()
    html = client.get("/admin/invoices?currency=GBP").get_data(as_text=True)
    assert "Page 1 of 2 · 30 in all" in html
    assert 'href="/admin/invoices?currency=GBP&amp;page=2"' in html
    second = client.get("/admin/invoices?currency=GBP&page=2",
                        headers={"HX-Request": "true"}).get_data(as_text=True)
    assert second.count('id="invoice-row-') == 5


def test_across_every_customer_a_list_counts_only_so_far_past_its_page(app, client, admin, now,
                                                                      monkeypatch):
    """An exact total across every customer reads every matching row (a million invoices);
    the admin lists count at most COUNT_AHEAD rows past the page and then say "more than"."""
    from tests.factories import make_customer, make_invoice
    from webapp.services.admin import lists
    with app.app_context():
        customer = make_customer(db.session, now=now, email="many@example.com", currency="GBP")
        for _ in range(30):
            make_invoice(db.session, customer=customer, now=now)
        db.session.commit()
    monkeypatch.setattr(lists, "COUNT_AHEAD", 2)  # page 1 counts up to 25 + 2 + 1 rows
    first = client.get("/admin/invoices?currency=GBP").get_data(as_text=True)
    assert "Page 1 · more than 27 in all" in first and "Page 1 of" not in first
    assert 'href="/admin/invoices?currency=GBP&amp;page=2"' in first
    second = client.get("/admin/invoices?currency=GBP&page=2",
                        headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Page 2 of 2 · 30 in all" in second and second.count('id="invoice-row-') == 5


def test_the_mrr_figures_link_to_the_subscriptions_mrr_counts(app, client, admin):
    """MRR and ARR count live, non-renewing and dunning subscriptions: their links list
    exactly those (the status filter's "Counted in MRR")."""
    home = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/subscriptions?status=counted&amp;currency=USD"' in home
    html = client.get("/admin/subscriptions?status=counted").get_data(as_text=True)
    with app.app_context():
        subs = db.session.exec(select(Subscription)).all()
    counted = [s for s in subs if s.status in ("live", "non_renewing", "dunning")]
    assert counted and len(counted) < len(subs)
    assert all(f'id="subscription-row-{s.id}"' in html for s in counted)
    assert not any(f'id="subscription-row-{s.id}"' in html for s in subs if s not in counted)
    assert '<option value="counted" selected>' in html


def test_the_unused_credits_figure_links_to_the_credit_notes_left_to_use(app, client, admin,
                                                                         now):
    """The home's unused credits per currency link to every customer's open credit notes
    with a balance; the list filters without JavaScript and downloads the same rows."""
    from tests.factories import make_customer
    from webapp.models import CreditNote
    with app.app_context():
        customer = make_customer(db.session, now=now, email="credit@example.com",
                                 currency="GBP")
        for number, status, balance in (("CN-G1", "open", 700), ("CN-G2", "open", 0),
                                        ("CN-G3", "closed", 0), ("CN-G4", "void", 0)):
            db.session.add(CreditNote(number=number, customer_id=customer.id, currency="GBP",
                                      issue_date=now.date(), reason="Test", total=1000,
                                      balance=balance, status=status, created_at=now))
        db.session.commit()
    home = client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/credits?status=unused&amp;currency=GBP"' in home
    html = client.get("/admin/credits?status=unused&currency=GBP").get_data(as_text=True)
    assert "CN-G1" in html and "credit@example.com" not in html
    assert not any(n in html for n in ("CN-G2", "CN-G3", "CN-G4"))
    swapped = client.get("/admin/credits?status=void&currency=GBP",
                         headers={"HX-Request": "true"}).get_data(as_text=True)
    assert swapped.lstrip().startswith('<section id="credit-list"') and "CN-G4" in swapped
    rows = _csv(client.get("/admin/credits.csv?status=unused&currency=GBP"))
    assert rows[0][0] == "number" and [r[0] for r in rows[1:]] == ["CN-G1"]
    assert rows[1][-1] == "7.00"


def test_the_payment_list_shows_succeeded_payments_unless_asked(app, client, admin):
    with app.app_context():
        failed = db.session.exec(select(Payment).where(Payment.status == "failed")).all()
        succeeded = db.session.exec(select(Payment).where(Payment.status == "succeeded")).all()
    html = client.get("/admin/payments").get_data(as_text=True)
    assert all(f'id="payment-row-{p.id}"' in html for p in succeeded[:25])
    assert not any(f'id="payment-row-{p.id}"' in html for p in failed)
    rows = _csv(client.get("/admin/payments.csv?status=failed"))
    assert sorted(int(r[1]) for r in rows[1:]) == sorted(p.customer_id for p in failed)
    assert {r[5] for r in rows[1:]} <= {"failed"}


def test_csv_cells_are_not_formulas(app, client, admin, now):
    from tests.factories import make_customer, make_invoice
    with app.app_context():
        customer = make_customer(db.session, now=now, email="f@example.com", currency="GBP")
        customer.display_name = "=HYPERLINK(1)"
        make_invoice(db.session, customer=customer, now=now)
        db.session.commit()
    rows = _csv(client.get("/admin/invoices.csv?currency=GBP"))
    assert rows[1][2] == "'=HYPERLINK(1)"


def test_subscriptions_filter_by_plan_and_by_a_chosen_date_range(app, client, admin):
    today = app.config["FIXED_NOW"].date()
    with app.app_context():
        from webapp.models import Plan
        subs = db.session.exec(select(Subscription)).all()
        plans = {p.id: p.code for p in db.session.exec(select(Plan)).all()}
    code = plans[subs[0].plan_id]
    html = client.get(f"/admin/subscriptions?plan={code}").get_data(as_text=True)
    assert {int(i) for i in re.findall(r'id="subscription-row-(\d+)"', html)} == \
        {s.id for s in subs if plans[s.plan_id] == code}
    end = today.replace(day=28) if today.day < 28 else today
    url = f"/admin/subscriptions?date=next_billing&from={today}&to={end.isoformat()}"
    html = client.get(url).get_data(as_text=True)
    assert {int(i) for i in re.findall(r'id="subscription-row-(\d+)"', html)} == \
        {s.id for s in subs if s.next_billing_date and today <= s.next_billing_date <= end}
    assert '<option value="next_billing" selected>' in html
