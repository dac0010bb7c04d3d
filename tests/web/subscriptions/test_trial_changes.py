"""Changing plan during a trial over HTTP (issue 30): Jane's trial offers "Now, billed when the
trial ends", previews nothing to pay (with and without htmx), is changed with no invoice, and
Activate Subscription's summary bills the new plan; the admin's change page offers the same."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from tests.conftest import csrf_token_from
from tests.web.subscriptions.test_subscription_changes import _confirm_data, _ids, _preview
from webapp import demo
from webapp.db import db
from webapp.models import Invoice, Plan, Subscription


def _trial(app, seeded) -> int:
    with app.app_context():
        return db.session.exec(select(Subscription.id).where(
            Subscription.customer_id == seeded.jane_customer_id,
            Subscription.status == "trial")).one()


@pytest.mark.parametrize("htmx", [False, True])
def test_a_trial_change_previews_nothing_to_pay(app, client, auth, seeded, htmx):
    sub_id = _trial(app, seeded)
    auth.login()
    detail = client.get(f"/subscriptions/{sub_id}").get_data(as_text=True)
    assert "Manage Subscription" in detail
    page = client.get(f"/subscriptions/{sub_id}/edit").get_data(as_text=True)
    assert 'value="trial_end"' in page and "Now, billed when the trial ends" in page
    assert 'value="immediately"' not in page
    response, _ = _preview(client, sub_id, {"plan_id": _ids(app, Plan, "pro-monthly"),
                                            "timing": "trial_end"}, htmx=htmx)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and ("<html" in html) is not htmx
    assert "During the trial nothing is invoiced or prorated." in html
    assert "billed from the end of the trial" in html and "Due today" not in html


def test_confirming_changes_the_trial_and_the_activation_summary_bills_it(app, client, auth,
                                                                         seeded):
    sub_id = _trial(app, seeded)
    auth.login()
    response, token = _preview(client, sub_id, {"plan_id": _ids(app, Plan, "pro-monthly"),
                                                "timing": "trial_end"})
    confirm = client.post(f"/subscriptions/{sub_id}/edit",
                          data={**_confirm_data(response.get_data(as_text=True)),
                                "csrf_token": token})
    assert confirm.status_code == 303
    shown = client.get(confirm.headers["Location"]).get_data(as_text=True)
    assert "when the trial ends" in shown
    with app.app_context():
        sub = db.session.get(Subscription, sub_id)
        assert (sub.status, sub.plan_id) == ("trial", _ids(app, Plan, "pro-monthly"))
        assert db.session.exec(select(Invoice).where(Invoice.subscription_id == sub_id)).all() == []
    summary = client.get(f"/subscriptions/{sub_id}/activate").get_data(as_text=True)
    assert "Pro" in summary and "Basic" not in summary.split("<main")[1]


def test_the_admin_changes_a_trial_for_its_end(app, client, auth, seeded):
    sub_id = _trial(app, seeded)
    auth.login(*demo.ADMIN)
    page = client.get(f"/admin/subscriptions/{sub_id}/change").get_data(as_text=True)
    assert 'value="trial_end"' in page and 'value="immediately"' not in page
    detail = client.get(f"/admin/subscriptions/{sub_id}").get_data(as_text=True)
    assert "Change plan or addons" in detail
    token = csrf_token_from(page)
    data = {"plan_id": _ids(app, Plan, "pro-monthly"), "timing": "trial_end", "csrf_token": token}
    preview = client.post(f"/admin/subscriptions/{sub_id}/change/preview", data=data,
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "During the trial nothing is invoiced or prorated." in preview
    fingerprint = re.search(r'name="fingerprint" type="hidden" value="([^"]+)"', preview).group(1)
    done = client.post(f"/admin/subscriptions/{sub_id}/change",
                       data={**data, "fingerprint": fingerprint})
    assert done.status_code == 303
    assert "when the trial ends" in client.get(done.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        sub = db.session.get(Subscription, sub_id)
        assert (sub.status, sub.plan_id) == ("trial", _ids(app, Plan, "pro-monthly"))
        assert db.session.exec(select(Invoice).where(Invoice.subscription_id == sub_id)).all() == []
