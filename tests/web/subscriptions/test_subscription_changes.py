"""Manage Subscription: the preview equals the invoice; a stale preview is refused."""

import re
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from tests.conftest import FIXED_NOW, csrf_token_from
from webapp.db import db
from webapp.models import (
    Addon,
    CreditNote,
    Invoice,
    InvoiceLine,
    Plan,
    Preferences,
    ScheduledChange,
    Subscription,
)


def _live(app, seeded, *, autocharge=None):
    with app.app_context():
        sub = db.session.exec(select(Subscription).where(
            Subscription.customer_id == seeded.jane_customer_id, Subscription.status == "live")
            .order_by(Subscription.id)).first()
        if autocharge is not None:
            sub.autocharge = autocharge
            db.session.commit()
        return sub.id


def _ids(app, model, code):
    with app.app_context():
        return db.session.exec(select(model.id).where(model.code == code)).one()


def _preview(client, sub_id, data, htmx=True):
    page = client.get(f"/subscriptions/{sub_id}/edit").get_data(as_text=True)
    token = csrf_token_from(page)
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(f"/subscriptions/{sub_id}/edit/preview", data={**data, "csrf_token": token},
                       headers=headers), token


def _confirm_data(html):
    form = html[html.index('action="/subscriptions/'):]
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)) | {
        "fingerprint": re.search(r'name="fingerprint" type="hidden" value="([^"]+)"', html).group(1)}


def _minor(html, element_id):
    return int(re.search(rf'id="{element_id}" data-minor="(-?\d+)"', html).group(1))


def test_the_upgrade_preview_shows_prorated_lines_and_credit(app, client, auth, seeded):
    sub_id = _live(app, seeded)
    auth.login()
    response, _ = _preview(client, sub_id, {"plan_id": _ids(app, Plan, "enterprise-monthly"),
                                            "timing": "immediately"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.strip().startswith('<section id="subscription-change-preview"')
    assert "Enterprise (" in html and "Credit: Unused time" in html and "Due today" in html


def test_the_plan_picker_shows_each_plans_price_and_interval(app, client, auth, seeded):
    auth.login()
    html = client.get(f"/subscriptions/{_live(app, seeded)}/edit").get_data(as_text=True)
    options = re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>',
                         html.split('id="plan_id"')[1].split("</select>")[0])
    assert options and all(re.search(r" · US\$[\d,.]+ every (month|year)", o) for o in options)


@pytest.mark.parametrize("htmx", [False, True])
def test_adding_a_seat_previews_only_the_seat_and_the_lines_add_up(app, client, auth, seeded,
                                                                   htmx):
    sub_id = _live(app, seeded)
    auth.login()
    with app.app_context():
        plan_id = db.session.get(Subscription, sub_id).plan_id
    response, _ = _preview(client, sub_id, {"plan_id": plan_id, "timing": "immediately",
                                            f"addon-{_ids(app, Addon, 'extra-seat')}": "4"},
                           htmx=htmx)
    html = response.get_data(as_text=True)
    [(description, tax, amount)] = re.findall(
        r'class="preview-line"><td>([^<]+)</td><td class="amount" data-minor="(-?\d+)">.*?'
        r'data-minor="(-?\d+)"', html, re.S)
    assert description.startswith("Extra seat (")  # 3 seats held: only the 1 more
    assert 'class="preview-credit"' not in html  # nothing billed again and credited back
    total, due = _minor(html, "preview-total"), _minor(html, "preview-due")
    assert (_minor(html, "preview-subtotal"), _minor(html, "preview-tax")) == (int(amount), int(tax))
    assert total == int(amount) + int(tax) and due == total - _minor(html, "preview-credit-applied")


def test_confirming_writes_exactly_the_previewed_invoice(app, client, auth, seeded):
    sub_id = _live(app, seeded, autocharge=False)
    auth.login()
    response, token = _preview(client, sub_id, {"plan_id": _ids(app, Plan, "enterprise-monthly"),
                                                "timing": "immediately"})
    html = response.get_data(as_text=True)
    lines = [int(x) for x in re.findall(r'class="preview-line">.*?data-minor="(-?\d+)".*?data-minor="(-?\d+)"', html, re.S)[0]]
    total = _minor(html, "preview-total")
    confirm = client.post(f"/subscriptions/{sub_id}/edit", data={**_confirm_data(html), "csrf_token": token})
    assert confirm.status_code == 303
    with app.app_context():
        invoice = db.session.exec(select(Invoice).where(Invoice.subscription_id == sub_id,
                                                        Invoice.kind == "proration")).one()
        rows = db.session.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)
                               .order_by(InvoiceLine.position)).all()
        assert total <= invoice.total  # the seats held before and after are not shown
        assert invoice.total - invoice.credits_applied == _minor(html, "preview-due")
        assert [rows[0].tax_amount, rows[0].amount] == lines
        assert db.session.get(Subscription, sub_id).plan_id == _ids(app, Plan, "enterprise-monthly")


def test_a_stale_preview_is_refused_and_charges_nothing(app, client, auth, seeded):
    sub_id = _live(app, seeded)
    auth.login()
    response, token = _preview(client, sub_id, {"plan_id": _ids(app, Plan, "enterprise-monthly"),
                                                "timing": "immediately"})
    html = response.get_data(as_text=True)
    with app.app_context():  # the price moves between preview and confirm
        from webapp.models import PlanPrice

        price = db.session.exec(select(PlanPrice).where(
            PlanPrice.plan_id == _ids(app, Plan, "enterprise-monthly"), PlanPrice.currency == "USD")).one()
        price.amount += 1000
        db.session.commit()
    refused = client.post(f"/subscriptions/{sub_id}/edit", data={**_confirm_data(html), "csrf_token": token})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 409 and "The price changed, review the new summary" in body
    with app.app_context():
        assert db.session.exec(select(Invoice).where(Invoice.kind == "proration")).first() is None
        assert db.session.get(Subscription, sub_id).plan_id != _ids(app, Plan, "enterprise-monthly")


def test_a_change_at_the_end_of_term_is_scheduled_and_shown_on_the_timeline(app, client, auth, seeded):
    sub_id = _live(app, seeded)
    auth.login()
    response, token = _preview(client, sub_id, {"plan_id": _ids(app, Plan, "basic-monthly"),
                                                "timing": "end_of_term"}, htmx=False)
    html = response.get_data(as_text=True)
    assert "<html" in html and "Nothing is charged now" in html
    client.post(f"/subscriptions/{sub_id}/edit", data={**_confirm_data(html), "csrf_token": token})
    with app.app_context():
        assert db.session.exec(select(ScheduledChange).where(ScheduledChange.subscription_id == sub_id)).one()
    assert "Change plan to Basic" in client.get(f"/subscriptions/{sub_id}").get_data(as_text=True)


@pytest.mark.parametrize(("data", "message"), [
    ({"coupon_code": "NOPE"}, "does not exist"),
    ({"coupon_code": "WELCOME20"}, "already on the subscription"),
    ({}, "Change the plan"),
])
def test_bad_changes_are_explained_and_change_nothing(app, client, auth, seeded, data, message):
    sub_id = _live(app, seeded)
    with app.app_context():
        plan_id = db.session.get(Subscription, sub_id).plan_id
    auth.login()
    response, _ = _preview(client, sub_id, {"plan_id": plan_id, "timing": "immediately", **data})
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_an_auto_charged_change_with_a_declined_card_changes_nothing(app, client, auth, seeded, now):
    from tests.walk import DECLINED_CARD
    from webapp.services.billing.gateway import CardDetails, TestGateway
    from webapp.services.payments.methods import add

    sub_id = _live(app, seeded, autocharge=True)
    with app.app_context():
        method = add(db.session, customer_id=seeded.jane_customer_id,
                     card=CardDetails(DECLINED_CARD, 1, 2031, "123"), gateway=TestGateway(db.engine),
                     now=now).method
        db.session.get(Subscription, sub_id).payment_method_id = method.id
        db.session.commit()
        before = db.session.get(Subscription, sub_id).plan_id
    auth.login()
    response, token = _preview(client, sub_id, {"plan_id": _ids(app, Plan, "enterprise-monthly"),
                                                "timing": "immediately"})
    result = client.post(f"/subscriptions/{sub_id}/edit",
                         data={**_confirm_data(response.get_data(as_text=True)), "csrf_token": token})
    assert result.status_code == 303
    assert "The change was not made: Your card was declined." in client.get(result.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Subscription, sub_id).plan_id == before
        assert db.session.exec(select(Invoice).where(Invoice.kind == "proration")).first() is None
        assert db.session.exec(select(CreditNote).where(CreditNote.subscription_id == sub_id)).first() is None


def test_editing_is_hidden_and_404_when_the_preference_is_off(app, client, auth, seeded):
    sub_id = _live(app, seeded)
    with app.app_context():
        db.session.get(Preferences, 1).edit_subscription = False
        db.session.commit()
    auth.login()
    assert "Manage Subscription" not in client.get(f"/subscriptions/{sub_id}").get_data(as_text=True)
    assert client.get(f"/subscriptions/{sub_id}/edit").status_code == 404


def test_omar_cannot_manage_janes_subscription(app, client, auth, seeded):
    from webapp import demo

    sub_id = _live(app, seeded)
    auth.login(*demo.OMAR)
    assert client.get(f"/subscriptions/{sub_id}/edit").status_code == 404


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(plan=st.sampled_from(["basic-monthly", "enterprise-monthly", "pro-monthly"]),
       seats=st.integers(0, 6), days=st.integers(0, 25), coupon=st.sampled_from(["", "SAVE10", "LOYAL15"]))
def test_the_preview_read_from_the_page_equals_the_committed_invoice(sqlite_engine, plan, seats, days, coupon):
    """Over random changes and days: preview figures on the page == the invoice rows."""
    from tests.conftest import Auth, wipe
    from webapp import create_app, demo

    wipe(sqlite_engine)
    app = create_app({"TESTING": True, "DATABASE_URL": str(sqlite_engine.url), "SECRET_KEY": "t",
                      "LOGIN_RATE_LIMIT": "1000 per minute",
                      "REDIS_URL": None, "FIXED_NOW": FIXED_NOW + timedelta(days=days)})
    with app.app_context():
        seeded = demo.seed_demo(db.session, now=FIXED_NOW)
        db.session.commit()
    sub_id = _live(app, seeded, autocharge=False)
    client = app.test_client()
    Auth(client).login()
    data = {"plan_id": _ids(app, Plan, plan), "timing": "immediately", "coupon_code": coupon,
            f"addon-{_ids(app, Addon, 'extra-seat')}": str(seats)}
    response, token = _preview(client, sub_id, data)
    html = response.get_data(as_text=True)
    if response.status_code == 422:
        return  # nothing changed (same plan, same seats, no coupon): refused, fine
    shown = [(int(t), int(a)) for t, a in re.findall(
        r'class="preview-line">.*?data-minor="(-?\d+)".*?data-minor="(-?\d+)"', html, re.S)]
    due = _minor(html, "preview-due")
    client.post(f"/subscriptions/{sub_id}/edit", data={**_confirm_data(html), "csrf_token": token})
    with app.app_context():
        invoice = db.session.exec(select(Invoice).where(Invoice.kind == "proration")).first()
        if invoice is None:
            assert shown == [] or sum(a + t for t, a in shown) == 0
            return
        rows = db.session.exec(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)
                               .order_by(InvoiceLine.position)).all()
        assert [r.amount for r in rows]  # the invoice keeps every line; the page shows
        credits = sum(int(x) for x in re.findall(  # what changes, adding up to the due
            r'class="preview-credit">.*?data-minor="(-?\d+)"', html, re.S))
        total = _minor(html, "preview-total")
        assert sum(a for _, a in shown) == _minor(html, "preview-subtotal")
        assert _minor(html, "preview-subtotal") + _minor(html, "preview-tax") == total
        assert _minor(html, "preview-credit-applied") == max(0, min(total, credits))
        assert total - _minor(html, "preview-credit-applied") == due
        assert invoice.total - invoice.credits_applied == due


def test_a_confirmed_change_emails_the_customer_and_notifies_the_organization(app, client, auth, seeded):
    from webapp.models import Notification, OutboxMessage

    sub_id = _live(app, seeded, autocharge=False)
    auth.login()
    response, token = _preview(client, sub_id, {"plan_id": _ids(app, Plan, "basic-monthly"),
                                                "timing": "end_of_term"})
    client.post(f"/subscriptions/{sub_id}/edit",
                data={**_confirm_data(response.get_data(as_text=True)), "csrf_token": token})
    with app.app_context():
        mails = db.session.exec(select(OutboxMessage).where(
            OutboxMessage.template == "subscription_update")).all()
        assert [m.to_address for m in mails] == ["jane@example.com"]
        assert db.session.exec(select(Notification).where(
            Notification.event == "subscription_changed")).one()
