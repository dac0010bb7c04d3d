"""Subscription self-service in the browser's terms: forms without JavaScript, htmx fragments,
preferences that hide buttons and 404 their URLs, refusals, and other customers' subscriptions."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from tests.conftest import csrf_token_from
from webapp import demo
from webapp.db import db
from webapp.models import (
    CreditNote,
    Invoice,
    Payment,
    PaymentMethod,
    Preferences,
    Subscription,
    SubscriptionCoupon,
)

HX = {"HX-Request": "true"}
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def _flash(html: str) -> str:
    """The flashed messages of a page (the portal's format for dates, never ISO)."""
    found = re.search(r'<div id="flash-messages".*?</div>', html, re.S)
    return found.group(0) if found else ""


# -- arranging --------------------------------------------------------------------------------

def _sub_id(app, customer_id: int, status: str, expired_reason: str | None = None) -> int:
    with app.app_context():
        query = select(Subscription.id).where(Subscription.customer_id == customer_id,
                                              Subscription.status == status)
        if expired_reason:
            query = query.where(Subscription.expired_reason == expired_reason)
        return db.session.exec(query.order_by(Subscription.id)).first()


def _sub(app, sub_id: int) -> Subscription:
    with app.app_context():
        return db.session.get(Subscription, sub_id)


def _invoices(app, sub_id: int) -> list[Invoice]:
    with app.app_context():
        return list(db.session.exec(select(Invoice).where(Invoice.subscription_id == sub_id)))


def _prefs(app, **values) -> None:
    with app.app_context():
        prefs = db.session.get(Preferences, 1)
        for name, value in values.items():
            setattr(prefs, name, value)
        db.session.commit()


def _give_card(app, sub_id: int, behaviour: str) -> None:
    """Point the subscription's auto-charge at a test card that behaves as asked."""
    with app.app_context():
        sub = db.session.get(Subscription, sub_id)
        method = PaymentMethod(customer_id=sub.customer_id, brand="Visa", last4="0002",
                               gateway_token=f"tok_test_{behaviour}_{sub_id:08d}", exp_month=12,
                               exp_year=2030, created_at=sub.created_at)
        db.session.add(method)
        db.session.flush()
        sub.payment_method_id, sub.autocharge = method.id, True
        db.session.commit()


def _page(client, sub_id: int) -> str:
    return client.get(f"/subscriptions/{sub_id}").get_data(as_text=True)


def _post(client, sub_id: int, action: str, data: dict | None = None, *, htmx: bool = False):
    """Submit a form of the subscription page, as the browser would (CSRF, Referer)."""
    token = csrf_token_from(_page(client, sub_id))
    headers = {"Referer": f"http://localhost/subscriptions/{sub_id}", **(HX if htmx else {})}
    return client.post(f"/subscriptions/{sub_id}/{action}", data={**(data or {}), "csrf_token": token},
                       headers=headers)


def _confirm_form(client, sub_id: int, action: str) -> dict:
    html = client.get(f"/subscriptions/{sub_id}/{action}").get_data(as_text=True)
    return {name: re.search(rf'name="{name}" type="hidden" value="([^"]*)"', html).group(1)
            for name in ("fingerprint", "idempotency_key", "csrf_token")}


@pytest.fixture
def jane(client, auth, seeded):
    auth.login()
    return seeded.jane_customer_id


# -- the subscription page --------------------------------------------------------------------

@pytest.mark.parametrize(("status", "reason", "button"), [
    ("trial", None, "Proceed to Activate"),
    ("live", None, "Pause &amp; Resume"),
    ("live", None, "Cancel Subscription"),
    ("non_renewing", None, "Remove Scheduled Cancellation"),
    ("cancelled", None, "Proceed to Reactivate"),
    ("expired", "term_end", "Proceed to Reactivate"),
    ("expired", "trial_end", "Extend Trial"),
    ("paused", None, "Change Schedule"),
])
def test_each_state_shows_its_actions(app, client, jane, status, reason, button):
    assert button in _page(client, _sub_id(app, jane, status, reason))


@pytest.mark.parametrize(("status", "reason", "action"), [
    ("trial", None, "activate"), ("cancelled", None, "reactivate")])
def test_the_summary_s_opener_and_its_confirming_button_have_different_names(
        app, client, jane, status, reason, action):
    sub_id = _sub_id(app, jane, status, reason)
    page = _page(client, sub_id)
    summary = client.get(f"/subscriptions/{sub_id}/{action}", headers=HX).get_data(as_text=True)
    opener = re.search(r'hx-target="#subscription-panel" hx-swap="innerHTML">([^<]+)</a>',
                       page.split('id="subscription-banner"')[1]).group(1)
    confirm = re.search(r'<button type="submit">([^<]+)</button>', summary).group(1)
    assert opener.startswith("Proceed to") and confirm.endswith("Subscription")
    assert confirm not in page


BANNERS = [
    # (status, expired reason), what the banner says, its one action
    (("dunning", None), "is past due.", "Pay Now"),
    (("unpaid", None), "is past due.", "Pay Now"),
    (("paused", None), "This subscription is paused", "Change Schedule"),
    (("non_renewing", None), "cancelled at the end of its term: available until",
     "Remove Scheduled Cancellation"),
    (("trial", None), "Your trial ends on", "Proceed to Activate"),
    (("expired", "trial_end"), "This subscription has expired.", "Extend Trial"),
    (("expired", "term_end"), "This subscription has expired.", "Proceed to Reactivate"),
    (("cancelled", None), "This subscription was cancelled on", "Proceed to Reactivate"),
]


def _banner(html: str) -> str:
    return html.split('id="subscription-banner"')[1].split('id="subscription-actions"')[0]


@pytest.mark.parametrize(("state", "text", "action"), BANNERS,
                         ids=[f"{s[0][0]}-{s[0][1]}" for s in BANNERS])
def test_the_page_opens_with_the_status_banner_and_its_one_action(app, client, jane, state,
                                                                  text, action):
    html = _page(client, _sub_id(app, jane, *state))
    assert html.index('id="subscription-banner"') < html.index('id="subscription-actions"')
    banner = _banner(html)
    assert text in banner and action in banner
    assert html.count(f">{action}<") == 1  # the action is in the banner only


def test_a_past_due_banner_names_the_amount_and_pays_those_invoices(app, client, jane):
    sub_id = _sub_id(app, jane, "dunning")
    [invoice] = [i for i in _invoices(app, sub_id) if i.status == "open"]
    banner = _banner(_page(client, sub_id))
    assert f"US${invoice.total / 100:,.2f} is past due." in banner
    assert f'href="/pay?invoice={invoice.id}"' in banner


def test_a_live_subscription_has_no_banner(app, client, jane):
    html = _page(client, _sub_id(app, jane, "live"))
    assert 'class="banner' not in _banner(html)


@pytest.mark.parametrize("htmx", [False, True])
def test_removing_the_cancellation_takes_the_banner_away(app, client, jane, htmx):
    sub_id = _sub_id(app, jane, "non_renewing")
    response = _post(client, sub_id, "remove-cancellation", htmx=htmx)
    html = response.get_data(as_text=True) if htmx else _page(client, sub_id)
    assert 'id="subscription-banner"' in html and "available until" not in html
    assert ('id="subscription-banner" class="subscription-banner" hx-swap-oob="true"' in html) \
        == htmx


@pytest.mark.parametrize(("state", "label"), [
    (("live", None), ">Active<"), (("dunning", None), ">Past due<"),
    (("future", None), ">Starts on "), (("non_renewing", None), ">Ends on "),
    (("paused", None), ">Paused until ")])
def test_badges_use_the_customers_words(app, client, jane, state, label):
    html = _page(client, _sub_id(app, jane, *state))
    badge = html.split('id="subscription-status">')[1].split("</span>")[0]
    assert label in badge + "<"
    assert label in client.get("/subscriptions?page=1").get_data(as_text=True) + "<"


@pytest.mark.parametrize(("status", "shown"), [
    ("live", True), ("trial", True), ("paused", True), ("cancelled", False),
    ("unpaid", False), ("non_renewing", False)])
def test_next_charge_only_where_there_is_one(app, client, jane, status, shown):
    assert ("Next charge" in _page(client, _sub_id(app, jane, status))) == shown


def test_a_scheduled_pause_moves_the_next_charge(app, client, jane):
    sub_id = _sub_id(app, jane, "live")
    before = _sub(app, sub_id).next_billing_date
    _post(client, sub_id, "pause", {"pause_on": before.isoformat(),
                                    "resume_on": "2027-02-01"})
    card = _page(client, sub_id).split("<header>Next charge</header>")[1].split("</article>")[0]
    assert "on 1 Feb 2027" in card


def test_a_cancelled_subscription_shows_a_banner_and_no_cancel_button(app, client, jane):
    html = _page(client, _sub_id(app, jane, "cancelled"))
    assert "This subscription was cancelled on" in html and "Cancel Subscription" not in html


# -- Activate Subscription --------------------------------------------------------------------

def test_the_activation_summary_is_a_page_without_htmx(app, client, jane):
    response = client.get(f"/subscriptions/{_sub_id(app, jane, 'trial')}/activate")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in html
    assert 'id="subscription-activate"' in html and "Charged now to Visa •••• 4242" in html


def test_the_activation_summary_is_only_the_fragment_for_htmx(app, client, jane):
    response = client.get(f"/subscriptions/{_sub_id(app, jane, 'trial')}/activate", headers=HX)
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="subscription-activate"')
    assert "<html" not in html and "HX-Request" in response.headers["Vary"]


def test_activating_charges_the_saved_card_and_ends_on_the_live_subscription(app, client, jane):
    sub_id = _sub_id(app, jane, "trial")
    form = _confirm_form(client, sub_id, "activate")
    response = client.post(f"/subscriptions/{sub_id}/activate", data=form)
    assert response.status_code == 303 and response.headers["Location"] == f"/subscriptions/{sub_id}"
    assert "the subscription is now live" in _page(client, sub_id)
    assert _sub(app, sub_id).status == "live"
    [invoice] = _invoices(app, sub_id)
    assert (invoice.kind, invoice.status) == ("first_term", "paid")


def test_activating_with_htmx_redirects_the_browser_to_the_subscription(app, client, jane):
    sub_id = _sub_id(app, jane, "trial")
    form = _confirm_form(client, sub_id, "activate")
    response = client.post(f"/subscriptions/{sub_id}/activate", data=form, headers=HX)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == f"/subscriptions/{sub_id}"


@pytest.mark.parametrize("htmx", [False, True])
def test_a_declined_activation_says_why_and_changes_nothing(app, client, jane, htmx):
    sub_id = _sub_id(app, jane, "trial")
    _give_card(app, sub_id, "card_declined")
    before = _sub(app, sub_id)
    form = _confirm_form(client, sub_id, "activate")
    response = client.post(f"/subscriptions/{sub_id}/activate", data=form,
                           headers=HX if htmx else {})
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Your card was declined. The subscription was not activated; nothing changed." in html
    assert ("<html" in html) != htmx and 'id="subscription-activate"' in html
    assert form["idempotency_key"] not in html  # another try is another attempt
    after = _sub(app, sub_id)
    assert (after.status, after.trial_end, after.awaiting_payment_id) == \
        (before.status, before.trial_end, None)
    assert _invoices(app, sub_id) == []


def test_a_stale_activation_summary_is_refused_with_the_new_one(app, client, jane):
    sub_id = _sub_id(app, jane, "trial")
    form = {**_confirm_form(client, sub_id, "activate"), "fingerprint": "0" * 32}
    response = client.post(f"/subscriptions/{sub_id}/activate", data=form, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and "The price changed, review the new summary" in html
    assert 'name="fingerprint" type="hidden" value="' + "0" * 32 not in html
    assert _sub(app, sub_id).status == "trial"


def test_when_the_processor_does_not_answer_the_activation_is_refused_at_once(app, client, jane):
    sub_id = _sub_id(app, jane, "trial")
    _give_card(app, sub_id, "network_error")
    response = client.post(f"/subscriptions/{sub_id}/activate",
                           data=_confirm_form(client, sub_id, "activate"))
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "The payment processor did not answer. The subscription was not activated" in html
    after = _sub(app, sub_id)
    assert (after.status, after.awaiting_payment_id) == ("trial", None)
    _give_card(app, sub_id, "ok")
    client.post(f"/subscriptions/{sub_id}/activate", data=_confirm_form(client, sub_id, "activate"))
    assert _sub(app, sub_id).status == "live"


@pytest.mark.parametrize(("status", "action", "heading", "button"), [
    ("trial", "activate", "Activate SUB-", "Activate Subscription"),
    ("live", "cancel", "Cancel SUB-", "Cancel subscription"),
    ("live", "pause", "Pause SUB-", "Pause subscription"),
    ("paused", "pause", "Resume SUB-", "Change resume date"),
    ("cancelled", "reactivate", "Reactivate SUB-", "Reactivate Subscription")])
def test_each_panel_is_framed_with_a_heading_and_a_specific_button(app, client, jane, status,
                                                                   action, heading, button):
    sub_id = _sub_id(app, jane, status)
    html = client.get(f"/subscriptions/{sub_id}/{action}", headers=HX).get_data(as_text=True)
    assert re.match(r'\s*<section id="subscription-[a-z]+" class="panel"', html)
    assert f'-title">{heading}' in html and f">{button}</button>" in html
    assert ">Submit<" not in html and ">Confirm<" not in html


# -- Extend Trial -----------------------------------------------------------------------------

def test_extending_a_trial_swaps_the_actions_and_the_status_for_htmx(app, client, jane):
    sub_id = _sub_id(app, jane, "expired", "trial_end")
    response = _post(client, sub_id, "extend-trial", htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="subscription-actions"')
    assert "Your trial now runs until 10 Dec 2026." in html
    assert 'id="subscription-status" hx-swap-oob="true"' in html and ">Trial<" in html
    assert _sub(app, sub_id).status == "trial"


def test_extending_a_trial_without_htmx_redirects_with_a_flash(app, client, jane):
    sub_id = _sub_id(app, jane, "expired", "trial_end")
    response = _post(client, sub_id, "extend-trial")
    assert response.status_code == 303
    html = _page(client, sub_id)
    assert "Your trial now runs until" in html and "Extend Trial" not in html


def test_a_second_extension_beyond_the_preference_is_refused(app, client, jane):
    sub_id = _sub_id(app, jane, "expired", "trial_end")
    _post(client, sub_id, "extend-trial")
    with app.app_context():
        sub = db.session.get(Subscription, sub_id)
        sub.status, sub.expired_reason = "expired", "trial_end"  # the trial failed again
        db.session.commit()
    assert "Extend Trial" not in _page(client, sub_id)
    response = _post(client, sub_id, "extend-trial", htmx=True)
    assert response.status_code == 409 and "cannot be extended any further" in response.get_data(as_text=True)


# -- Cancel -----------------------------------------------------------------------------------

def test_the_cancel_form_is_a_fragment_for_htmx_and_a_page_without(app, client, jane):
    sub_id = _sub_id(app, jane, "live")
    fragment = client.get(f"/subscriptions/{sub_id}/cancel", headers=HX).get_data(as_text=True)
    page = client.get(f"/subscriptions/{sub_id}/cancel").get_data(as_text=True)
    assert fragment.lstrip().startswith('<section id="subscription-cancel"')
    assert "<html" in page and 'id="subscription-cancel"' in page
    assert "It is too expensive" in fragment and "At the end of the current term" in fragment


@pytest.mark.parametrize("htmx", [False, True])
def test_the_cancel_form_defaults_to_the_end_of_the_term_and_says_until_when(app, client, jane,
                                                                            htmx):
    sub_id = _sub_id(app, jane, "live")
    html = client.get(f"/subscriptions/{sub_id}/cancel",
                      headers=HX if htmx else {}).get_data(as_text=True)
    [checked] = re.findall(r'<input checked[^>]*value="([a-z_]+)"', html)
    assert checked == "end_of_term"
    end = _sub(app, sub_id).current_term_end
    assert f"available until {end.day} {end:%b %Y}" in html  # the portal's date format


def test_keep_subscription_is_the_primary_action_and_cancel_a_danger_button(app, client, jane):
    sub_id = _sub_id(app, jane, "live")
    html = client.get(f"/subscriptions/{sub_id}/cancel", headers=HX).get_data(as_text=True)
    actions = html.split('class="actions')[1]
    keep, cancel = actions.index("Keep subscription"), actions.index("Cancel subscription")
    assert keep < cancel and 'class="danger"' in actions
    assert 'role="button" href' in actions.split("Keep subscription")[0]


def test_cancelling_at_term_end_without_javascript_and_removing_it_again(app, client, jane):
    sub_id = _sub_id(app, jane, "live")
    response = _post(client, sub_id, "cancel", {"timing": "end_of_term",
                                                "reason": "I no longer need it"})
    assert response.status_code == 303
    html = _page(client, sub_id)
    assert "will be cancelled on" in html and "Remove Scheduled Cancellation" in html
    term_end = _sub(app, sub_id).current_term_end
    assert f"will be cancelled on {term_end.day} {term_end:%b %Y}, at the end" in _flash(html)
    assert not ISO_DATE.search(_flash(html))
    assert _sub(app, sub_id).status == "non_renewing"
    response = _post(client, sub_id, "remove-cancellation")
    assert response.status_code == 303 and _sub(app, sub_id).status == "live"
    assert "was removed" in _page(client, sub_id)


def test_cancelling_now_with_htmx_redirects_and_credits_unused_time(app, client, jane):
    sub_id = _sub_id(app, jane, "live")
    response = _post(client, sub_id, "cancel", {"timing": "immediately", "reason": "Other",
                                                "details": "Closing the studio"}, htmx=True)
    assert response.headers["HX-Redirect"] == f"/subscriptions/{sub_id}"
    sub = _sub(app, sub_id)
    assert (sub.status, sub.cancel_reason) == ("cancelled", "Other: Closing the studio")
    with app.app_context():
        assert db.session.exec(select(CreditNote).where(CreditNote.subscription_id == sub_id)).one().total > 0
    assert "Proceed to Reactivate" in _page(client, sub_id)


@pytest.mark.parametrize("htmx", [False, True])
def test_a_cancel_without_a_reason_keeps_the_form_with_the_message(app, client, jane, htmx):
    sub_id = _sub_id(app, jane, "live")
    response = _post(client, sub_id, "cancel", {"timing": "immediately", "reason": "",
                                                "details": "kept"}, htmx=htmx)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Choose a reason from the list." in html
    assert ("<html" in html) != htmx and "kept</textarea>" in html
    assert _sub(app, sub_id).status == "live"


@pytest.mark.parametrize("htmx", [False, True])
def test_a_second_cancel_is_refused_with_a_clear_message(app, client, jane, htmx):
    sub_id = _sub_id(app, jane, "cancelled")
    response = _post(client, sub_id, "cancel", {"timing": "immediately", "reason": "Other"},
                     htmx=htmx)
    message = "A cancelled subscription cannot be cancelled."
    if htmx:
        assert response.status_code == 409 and message in response.get_data(as_text=True)
    else:
        assert response.headers["Location"] == f"/subscriptions/{sub_id}"
        assert message in _page(client, sub_id)


def test_the_retention_offer_keeps_the_subscription_with_its_coupon(app, client, jane):
    _prefs(app, retention_coupon_code="LOYAL15",
           retention_offer_text="Stay with us and get 15% off for good.")
    sub_id = _sub_id(app, jane, "live")
    assert "Stay with us and get 15% off for good." in \
        client.get(f"/subscriptions/{sub_id}/cancel").get_data(as_text=True)
    response = _post(client, sub_id, "retention-offer")
    assert response.status_code == 303
    assert "Thank you for staying" in _page(client, sub_id)
    assert _sub(app, sub_id).status == "live"
    with app.app_context():
        assert db.session.exec(select(SubscriptionCoupon).where(
            SubscriptionCoupon.subscription_id == sub_id)).all()[-1].terms_used == 0


# -- Reactivate -------------------------------------------------------------------------------

@pytest.mark.parametrize("htmx", [False, True])
def test_reactivating_an_expired_subscription(app, client, jane, htmx):
    sub_id = _sub_id(app, jane, "expired", "term_end")
    summary = client.get(f"/subscriptions/{sub_id}/reactivate", headers=HX if htmx else {})
    assert "Reactivate Subscription" in summary.get_data(as_text=True)
    response = client.post(f"/subscriptions/{sub_id}/reactivate",
                           data=_confirm_form(client, sub_id, "reactivate"),
                           headers=HX if htmx else {})
    location = response.headers["HX-Redirect" if htmx else "Location"]
    assert location == f"/subscriptions/{sub_id}" and _sub(app, sub_id).status == "live"
    assert "The subscription is live again." in _page(client, sub_id)
    assert [i.kind for i in _invoices(app, sub_id) if i.kind == "reactivation"] == ["reactivation"]


def test_a_declined_reactivation_changes_nothing(app, client, jane):
    sub_id = _sub_id(app, jane, "cancelled")
    _give_card(app, sub_id, "insufficient_funds")
    count = len(_invoices(app, sub_id))
    response = client.post(f"/subscriptions/{sub_id}/reactivate",
                           data=_confirm_form(client, sub_id, "reactivate"))
    assert response.status_code == 409
    assert "Your card has insufficient funds. The subscription was not reactivated" in \
        response.get_data(as_text=True)
    assert _sub(app, sub_id).status == "cancelled" and len(_invoices(app, sub_id)) == count
    with app.app_context():
        assert db.session.exec(select(Payment.status).where(
            Payment.subscription_id == sub_id, Payment.purpose == "reactivation")).all() == ["failed"]


@pytest.mark.parametrize("htmx", [False, True])
def test_reactivating_a_live_subscription_is_refused(app, client, jane, htmx):
    sub_id = _sub_id(app, jane, "live")
    response = client.get(f"/subscriptions/{sub_id}/reactivate", headers=HX if htmx else {})
    message = "A live subscription cannot be reactivated."
    if htmx:
        assert response.status_code == 409 and message in response.get_data(as_text=True)
    else:
        assert response.headers["Location"] == f"/subscriptions/{sub_id}"
        assert message in _page(client, sub_id)


# -- Auto-charge ------------------------------------------------------------------------------

def test_the_autocharge_switch_swaps_only_itself(app, client, jane):
    sub_id = _sub_id(app, jane, "live")
    response = _post(client, sub_id, "autocharge", {"enabled": "off"}, htmx=True)
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="subscription-autocharge"')
    assert 'aria-checked="false"' in html and "Auto-charge is off" in html
    assert _sub(app, sub_id).autocharge is False


def test_the_autocharge_switch_works_without_javascript(app, client, jane):
    sub_id = _sub_id(app, jane, "live")
    response = _post(client, sub_id, "autocharge", {"enabled": "off"})
    assert response.status_code == 303 and "Auto-charge is off" in _page(client, sub_id)


def test_without_a_card_the_switch_is_off_and_points_to_payment_methods(app, client, jane):
    sub_id = _sub_id(app, jane, "non_renewing")
    html = _page(client, sub_id)
    assert "Auto-charge needs a card" in html and 'href="/payment-methods"' in html
    response = _post(client, sub_id, "autocharge", {"enabled": "on"}, htmx=True)
    assert response.status_code == 409 and "Add a payment method" in response.get_data(as_text=True)


# -- Pause & Resume -----------------------------------------------------------------------------

@pytest.mark.parametrize("htmx", [False, True])
def test_scheduling_a_pause(app, client, jane, htmx):
    sub_id = _sub_id(app, jane, "live")
    response = _post(client, sub_id, "pause", {"pause_on": "2026-12-01",
                                               "resume_on": "2027-01-15"}, htmx=htmx)
    assert response.headers["HX-Redirect" if htmx else "Location"] == f"/subscriptions/{sub_id}"
    sub = _sub(app, sub_id)
    assert (sub.pause_on.isoformat(), sub.resume_on.isoformat()) == ("2026-12-01", "2027-01-15")
    html = _page(client, sub_id)
    assert "pauses on 1 Dec 2026 and resumes on 15 Jan 2027." in _flash(html)
    assert "Delete Schedule" in html and "Change Schedule" in html
    assert not ISO_DATE.search(_flash(html))


@pytest.mark.parametrize("htmx", [False, True])
def test_a_resume_date_before_the_pause_is_shown_next_to_the_field(app, client, jane, htmx):
    sub_id = _sub_id(app, jane, "live")
    response = _post(client, sub_id, "pause", {"pause_on": "2026-12-01",
                                               "resume_on": "2026-11-30"}, htmx=htmx)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="resume_on-errors"' in html
    assert "Resume after the pause starts." in html and 'value="2026-12-01"' in html
    assert ("<html" in html) != htmx and _sub(app, sub_id).pause_on is None


def test_delete_schedule_swaps_the_actions_for_htmx(app, client, jane):
    sub_id = _sub_id(app, jane, "live")
    _post(client, sub_id, "pause", {"pause_on": "2026-12-01"})
    response = _post(client, sub_id, "pause/delete", htmx=True)
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="subscription-actions"')
    assert "pause schedule of" in html and "Pause &amp; Resume" in html
    assert _sub(app, sub_id).pause_on is None


def test_delete_schedule_without_javascript_redirects(app, client, jane):
    sub_id = _sub_id(app, jane, "live")
    _post(client, sub_id, "pause", {"pause_on": "2026-12-01"})
    assert _post(client, sub_id, "pause/delete").status_code == 303
    assert _sub(app, sub_id).pause_on is None


# -- Preferences: off hides the button and the URL answers 404 -------------------------------

SWITCHES = [
    # preference off, subscription (status, expired reason), button, (method, action) URLs
    ({"trial_activate": False}, ("trial", None), "Proceed to Activate",
     [("GET", "activate"), ("POST", "activate")]),
    ({"trial_extend": False}, ("expired", "trial_end"), "Extend Trial",
     [("POST", "extend-trial")]),
    ({"trial_cancel": False}, ("trial", None), "Cancel Subscription",
     [("GET", "cancel"), ("POST", "cancel")]),
    ({"cancel_subscription": False}, ("live", None), "Cancel Subscription",
     [("GET", "cancel"), ("POST", "cancel"), ("POST", "retention-offer")]),
    ({"cancel_subscription": False}, ("non_renewing", None), "Remove Scheduled Cancellation",
     [("POST", "remove-cancellation")]),
    ({"reactivation": False}, ("cancelled", None), "Proceed to Reactivate",
     [("GET", "reactivate"), ("POST", "reactivate")]),
    ({"autocharge_toggle": False}, ("live", None), 'role="switch"',
     [("POST", "autocharge")]),
    ({"pause_resume": False}, ("live", None), "Pause &amp; Resume",
     [("GET", "pause"), ("POST", "pause"), ("POST", "pause/delete")]),
]


@pytest.mark.parametrize(("off", "state", "button", "urls"), SWITCHES,
                         ids=[f"{next(iter(s[0]))}-{s[1][0]}" for s in SWITCHES])
def test_a_switched_off_action_has_no_button_and_its_urls_answer_404(app, client, jane, off,
                                                                     state, button, urls):
    sub_id = _sub_id(app, jane, *state)
    assert button in _page(client, sub_id)
    _prefs(app, **off)
    assert button not in _page(client, sub_id)
    for method, action in urls:
        if method == "GET":
            assert client.get(f"/subscriptions/{sub_id}/{action}").status_code == 404
        else:
            assert _post(client, sub_id, action, {"enabled": "on"}).status_code == 404


def test_with_the_subscriptions_module_off_every_action_answers_404(app, client, jane):
    sub_id = _sub_id(app, jane, "trial")
    token = csrf_token_from(_page(client, sub_id))
    _prefs(app, module_subscriptions=False)
    for method, action in ROUTES:
        path = f"/subscriptions/{sub_id}/{action}"
        response = client.get(path) if method == "GET" else \
            client.post(path, data={"csrf_token": token, "enabled": "on"})
        assert response.status_code == 404, (method, action)


# -- Another customer's subscriptions ---------------------------------------------------------

ROUTES = [("GET", "activate"), ("POST", "activate"), ("POST", "extend-trial"),
          ("GET", "cancel"), ("POST", "cancel"), ("POST", "retention-offer"),
          ("POST", "remove-cancellation"), ("GET", "reactivate"), ("POST", "reactivate"),
          ("POST", "autocharge"), ("GET", "pause"), ("POST", "pause"), ("POST", "pause/delete")]
STATES = ["trial", "live", "non_renewing", "paused", "cancelled", "expired"]


@pytest.mark.parametrize(("method", "action"), ROUTES, ids=[f"{m} {a}" for m, a in ROUTES])
def test_omar_gets_404_on_every_action_of_janes_subscriptions(app, client, auth, seeded,
                                                              method, action):
    janes = [_sub_id(app, seeded.jane_customer_id, status) for status in STATES]
    auth.login(*demo.OMAR)
    omars = _sub_id(app, seeded.omar_customer_id, "live")
    token = csrf_token_from(_page(client, omars))
    for sub_id in janes:
        path = f"/subscriptions/{sub_id}/{action}"
        response = client.get(path) if method == "GET" else client.post(
            path, data={"csrf_token": token, "enabled": "on", "fingerprint": "x",
                        "idempotency_key": "omar-tries-this-key", "timing": "immediately",
                        "reason": "Other", "pause_on": "2026-12-01"})
        assert response.status_code == 404, (method, path)
    assert _sub(app, janes[0]).status == "trial"
