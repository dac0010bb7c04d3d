"""Hostile values, as an attacker or a bad day sends them (issue 21): each probe once reproduced
a 500 or let something through. Every probe runs on SQLite and on PostgreSQL, and stays here so
it stays fixed: ids beyond the database's integer are 404, text with NUL, control or bidi
characters is 422 with a message next to the field, amounts and dates out of range are 422.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from sqlmodel import select

from tests.conftest import FIXED_NOW, csrf_token_from, wipe
from webapp import create_app, demo
from webapp.db import db
from webapp.models import Customer, Invoice, Subscription

BIG = 2**31  # one past PostgreSQL's integer
HUGE = 2**63  # one past SQLite's integer


@dataclass(frozen=True)
class Probe:
    who: str  # anonymous | jane | admin
    method: str
    path: str  # {jane} {invoice} are filled in
    status: int
    says: str = ""  # text the answer must contain
    data: dict = field(default_factory=dict)  # a POST's form, taken from `form_page` (CSRF)
    form_page: str = ""

    def __str__(self) -> str:
        return f"{self.who} {self.method} {self.path} {sorted(self.data.items())}"[:120]


ID_PATHS = [f"/invoices/{BIG}", f"/invoices/{HUGE}", f"/invoices/{BIG}.pdf",
            f"/invoices/{BIG}/forward", f"/subscriptions/{BIG}", f"/subscriptions/{BIG}/edit",
            f"/payments/{BIG}", f"/payments/{BIG}.pdf", f"/credits/{BIG}", f"/estimates/{BIG}",
            f"/projects/{BIG}", f"/timesheets/entries/{BIG}", f"/reviews/{BIG}",
            f"/pay/payments/{BIG}", f"/pay?invoice={BIG}", f"/pay?invoice={HUGE}"]
ADMIN_ID_PATHS = [f"/admin/customers/{BIG}", f"/admin/customers/{HUGE}/edit",
                  f"/admin/invoices/{BIG}", f"/admin/payments/{BIG}",
                  f"/admin/subscriptions/{BIG}", f"/admin/estimates/{BIG}",
                  f"/admin/projects/{BIG}", f"/admin/estimates/new?customer={BIG}"]
ID_FILTERS = [(f"/invoices?subscription={BIG}", "Ignored the subscription filter"),
              (f"/timesheets?project={BIG}", "Ignored the project filter")]
ADMIN_ID_FILTERS = [(f"/admin/audit?customer={BIG}", "Ignored the customer filter"),
                    (f"/admin/projects?customer={BIG}", "Ignored the customer filter"),
                    (f"/admin/reviews?customer={BIG}", "Ignored the customer filter")]

CONTROL = "cannot contain a control character"
BIDI = "invisible text-direction character"
VISIBLE = "Enter at least one visible character."
DETAILS = {"display_name": "Jane Cooper", "company": "", "phone": "", "billing_address": "",
           "shipping_address": "", "tax_id": ""}
NEW_CUSTOMER = {"display_name": "Kim", "email": "kim@example.com", "currency": "USD",
                "company": "", "phone": "", "tax_id": "", "billing_address": "",
                "shipping_address": ""}
PAYMENT = {"amount": "10.00", "method": "cash", "reference": "", "paid_on": "2026-11-20"}
LINE = {"lines-0-description": "Consulting", "lines-0-quantity": "1",
        "lines-0-unit_price": "10.00"}

PROBES = [
    *(Probe("jane", "get", path, 404) for path in ID_PATHS),
    *(Probe("admin", "get", path, 404) for path in ADMIN_ID_PATHS),
    *(Probe("jane", "get", path, 200, says) for path, says in ID_FILTERS),
    *(Probe("admin", "get", path, 200, says) for path, says in ADMIN_ID_FILTERS),
    # the anonymous fix link: the id is refused before the link is read, and the 404 page works
    Probe("anonymous", "get", f"/fix/some-token/payments/{BIG}", 404, "Page not found"),
    Probe("anonymous", "get", f"/fix/some-token/done/{HUGE}", 404, "Page not found"),
    Probe("anonymous", "get", "/fix/%00token", 404, "Page not found"),
    Probe("anonymous", "get", "/password/reset/to%00ken", 404, "Page not found"),
    # NUL and control characters, in fields and in the query string
    Probe("anonymous", "post", "/login", 422, CONTROL, form_page="/login",
          data={"email": "jane\x00@example.com", "password": "portal-demo-1"}),
    Probe("anonymous", "post", "/password/forgot", 422, CONTROL, form_page="/password/forgot",
          data={"email": "jane@example.com\x00"}),
    Probe("jane", "post", "/profile/details", 422, CONTROL, form_page="/profile",
          data={**DETAILS, "company": "Cooper\x00 Design"}),
    Probe("jane", "post", "/profile/details", 422, CONTROL, form_page="/profile",
          data={**DETAILS, "billing_address": "1 Main St\r\n\x00"}),
    Probe("jane", "post", "/messages/new", 422, CONTROL, form_page="/messages/new",
          data={"subject": "Hello\x00", "body": "A question"}),
    Probe("jane", "post", "/messages/new", 422, CONTROL, form_page="/messages/new",
          data={"subject": "Hello", "body": "A question\x1b[2J"}),
    Probe("admin", "get", "/admin/customers?q=%00", 422, "does not accept (NUL)"),
    Probe("admin", "get", "/admin/customers?q=%07", 200, "Ignored the search"),
    Probe("jane", "get", "/invoices?status=%00", 422, "does not accept (NUL)"),
    Probe("admin", "post", "/admin/import", 422, CONTROL, form_page="/admin/import",
          data={"kind": "customers", "mode": "dry_run",
                "text": "name,email\nKim\x00,kim@example.com\n"}),
    Probe("admin", "post", "/admin/import", 422, f"name: This field {CONTROL}",
          form_page="/admin/import",
          data={"kind": "customers", "mode": "dry_run",
                "file": ("customers.csv", b"name,email\nKim\x07,kim@example.com\n")}),
    Probe("jane", "post", "/subscriptions/{sub}/edit/preview", 422, CONTROL,
          form_page="/subscriptions/{sub}/edit",
          data={"plan_id": "1", "coupon_code": "WELCOME\x00", "timing": "immediately"}),
    Probe("admin", "post", "/admin/estimates/new", 422, CONTROL, form_page="/admin/estimates/new",
          data={"customer_id": "{jane}", "subject": "Work", "issue_date": "2026-11-26",
                "expiry_date": "2026-12-26", "notes": "", "lines-0-item": "Design\x00",
                "lines-0-quantity": "1", "lines-0-unit_price": "10.00"}),
    Probe("admin", "post", "/admin/catalog/coupons", 422, "Enter a percentage",
          form_page="/admin/catalog/coupons/new",
          data={"code": "BIG", "name": "Big", "discount_type": "percentage",
                "percent": "1e999999999", "duration": "once"}),
    Probe("admin", "post", "/admin/reviews/request", 404, form_page="/admin/reviews",
          data={"customer_id": str(BIG)}),
    # names (item 5): bidi overrides, BEL, ESC, nothing visible
    *(Probe("jane", "post", "/profile/details", 422, says, form_page="/profile",
            data={**DETAILS, "display_name": name})
      for name, says in [("Jane\u202eCooper", BIDI), ("Jane\u2066Cooper\u2069", BIDI),
                         ("Jane\x07", CONTROL), ("\x1b[31mJane", CONTROL),
                         ("\u200b\u200b", VISIBLE), ("Jane\u200d", "only between letters"),
                         ("Jane\tCooper", "cannot contain a tab")]),
    Probe("admin", "post", "/admin/customers", 422, BIDI, form_page="/admin/customers/new",
          data={**NEW_CUSTOMER, "display_name": "Kim\u202e"}),
    Probe("jane", "post", "/profile/contacts", 422, VISIBLE, form_page="/profile",
          data={"name": "\u200b", "email": "sam@example.com", "role": "billing"}),
    # amounts past the columns' range, and past the configured bound
    Probe("admin", "post", "/admin/customers/{jane}/invoices", 422, "at most 1,000,000",
          form_page="/admin/customers/{jane}/invoices/new",
          data={**LINE, "lines-0-unit_price": "99999999999999999999999"}),
    Probe("admin", "post", "/admin/customers/{jane}/invoices", 422, "more than the portal can hold",
          form_page="/admin/customers/{jane}/invoices/new",
          data={**LINE, "lines-0-quantity": "100000", "lines-0-unit_price": "900000"}),
    Probe("admin", "post", "/admin/customers/{jane}/payments", 422, "at most 1,000,000",
          form_page="/admin/customers/{jane}/payments/new",
          data={**PAYMENT, "amount": "99999999999999999999"}),
    Probe("admin", "post", "/admin/customers/{jane}/payments", 422, "at most 1,000,000",
          form_page="/admin/customers/{jane}/payments/new",
          data={**PAYMENT, "amount": "1e999999999"}),
    # dates out of any sane range
    *(Probe("admin", "post", "/admin/customers/{jane}/payments", 422,
            "Enter a date between the years 2000 and 2099.",
            form_page="/admin/customers/{jane}/payments/new", data={**PAYMENT, "paid_on": day})
      for day in ("0001-01-01", "1900-01-01")),
    Probe("jane", "get", "/statements?preset=custom&from=0001-01-01&to=2026-11-01", 200,
          "Ignored the from date"),
]


@dataclass(frozen=True)
class Seeded:
    app: object
    ids: dict


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded_once(request) -> Seeded:
    """The demo, seeded once per database for the whole table: a probe is refused, so it
    changes nothing the next one reads (the few accepted writes touch only Jane's profile)."""
    engine = request.getfixturevalue(f"{request.param}_engine")
    wipe(engine)
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key", "REDIS_URL": None,
                      "DATABASE_URL": engine.url.render_as_string(hide_password=False),
                      "RATELIMIT_STORAGE_URI": "memory://", "LOGIN_RATE_LIMIT": "1000 per minute",
                      "FIXED_NOW": FIXED_NOW})
    with app.app_context():
        seeded = demo.seed_demo(db.session, now=FIXED_NOW)
        db.session.commit()
        jane = seeded.jane_customer_id
        invoice = db.session.exec(select(Invoice.id).where(
            Invoice.customer_id == jane).order_by(Invoice.id)).first()
        sub = db.session.exec(select(Subscription.id).where(
            Subscription.customer_id == jane,
            Subscription.status == "live").order_by(Subscription.id)).first()
    return Seeded(app, {"jane": jane, "invoice": invoice, "sub": sub})


@pytest.fixture
def app(seeded_once):
    return seeded_once.app


@pytest.fixture
def ids(seeded_once) -> dict:
    return seeded_once.ids


def _send(client, auth, probe: Probe, ids: dict):
    if probe.who == "jane":
        auth.login()
    elif probe.who == "admin":
        auth.login(*demo.ADMIN)
    path = probe.path.format(**ids)
    if probe.method == "get":
        return client.get(path)
    page = client.get(probe.form_page.format(**ids)).get_data(as_text=True)
    data = {k: (_file(*v) if isinstance(v, tuple) else v.format(**ids))
            for k, v in probe.data.items()}
    return client.post(path, data={**data, "csrf_token": csrf_token_from(page)},
                       content_type="multipart/form-data" if any(
                           isinstance(v, tuple) for v in probe.data.values()) else None)


def _file(name: str, content: bytes):
    import io

    return io.BytesIO(content), name


@pytest.mark.parametrize("probe", PROBES, ids=str)
def test_a_hostile_value_gets_a_clear_answer_never_a_500(app, client, auth, ids, probe):
    response = _send(client, auth, probe, ids)
    body = response.get_data(as_text=True)
    assert response.status_code == probe.status, body[-800:]
    assert probe.says in body


@pytest.mark.parametrize("next_param", [
    "/%09/evil.example", "/%0d/x", "/%0a/x", "//evil.example", "/%5cevil.example",
    "%2f%2fevil.example", "%5c%2f%5c%2fevil.example", "https:evil.example",
    "/%EF%BC%8Fevil.example", "/%E2%88%95evil.example"])
def test_login_with_a_hostile_next_goes_home(app, client, ids, next_param):
    """Item 2: the redirect after login is checked on the URL a browser would follow."""
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post(f"/login?next={next_param}", data={
        "email": demo.JANE[0], "password": demo.JANE[1], "csrf_token": token})
    assert (response.status_code, response.headers["Location"]) == (303, "/")


def test_a_cookie_copied_before_logout_opens_nothing_after_it(app, client, auth, ids):
    """Item 3: logout ends the session on the server (services/accounts/sessions.py)."""
    auth.login()
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value, domain="localhost")
    token = csrf_token_from(copy.get("/account").get_data(as_text=True))
    auth.logout()
    assert copy.get("/invoices").status_code == 302
    refused = copy.post("/account/sessions/end-others", data={"csrf_token": token})
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/login")


def test_a_persian_name_with_a_zero_width_non_joiner_is_kept(app, client, auth, ids):
    auth.login()
    page = client.get("/profile").get_data(as_text=True)
    name = "فرهاد\u200cی"  # ZWNJ between letters, as Persian writes it
    response = client.post("/profile/details", data={**DETAILS, "display_name": name,
                                                     "csrf_token": csrf_token_from(page)})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Customer, ids["jane"]).display_name == name


def test_a_name_is_saved_in_nfc_and_line_breaks_in_an_address_become_lf(app, client, auth, ids):
    auth.login()
    page = client.get("/profile").get_data(as_text=True)
    response = client.post("/profile/details", data={
        **DETAILS, "display_name": "Jose\u0301", "billing_address": "1 Main St\r\nSpringfield\r",
        "csrf_token": csrf_token_from(page)})
    assert response.status_code == 303
    with app.app_context():
        customer = db.session.get(Customer, ids["jane"])
        assert (customer.display_name, customer.billing_address) == \
            ("José", "1 Main St\nSpringfield")


def test_the_money_bound_is_configurable(app, client, auth, ids, monkeypatch):
    monkeypatch.setitem(app.config, "MONEY_INPUT_MAX", 500)
    auth.login(*demo.ADMIN)
    form_page = f"/admin/customers/{ids['jane']}/payments/new"
    page = client.get(form_page).get_data(as_text=True)
    response = client.post(f"/admin/customers/{ids['jane']}/payments",
                           data={**PAYMENT, "amount": "500.01",
                                 "csrf_token": csrf_token_from(page)})
    assert response.status_code == 422
    assert 'id="amount-errors"' in response.get_data(as_text=True)


def test_every_form_in_the_portal_goes_through_the_input_filter(app):
    import wtforms

    from webapp import forms

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    portal_forms = [c for c in subclasses(wtforms.Form) if c.__module__.startswith("webapp")]
    assert len(portal_forms) > 30
    assert [c.__qualname__ for c in portal_forms
            if not issubclass(c, forms.FlaskForm | forms.Form)] == []
