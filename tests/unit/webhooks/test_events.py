"""Webhook events: written by the real service paths, in their transaction, with the payload
the catalogue describes; a rolled-back change writes none."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from tests.unit.subscriptions.test_subscription_actions import (
    TODAY,
    Shop,
    _expired_trial,
    _run_charge,
    d,
)
from webapp.models import Subscription, WebhookDelivery, WebhookEndpoint, WebhookEvent
from webapp.services.billing import ledger
from webapp.services.core import events
from webapp.services.subscriptions import actions, lifecycle


@pytest.fixture
def shop(session, now) -> Shop:
    return Shop(session, now)


def emitted(shop: Shop, since: int = 0) -> list[WebhookEvent]:
    shop.session.flush()
    return list(shop.session.exec(select(WebhookEvent).where(WebhookEvent.id > since)
                                  .order_by(WebhookEvent.id)))


def last_id(shop: Shop) -> int:
    events_ = emitted(shop)
    return events_[-1].id if events_ else 0


def types(shop: Shop, since: int = 0) -> list[str]:
    return [e.type for e in emitted(shop, since)]


def test_the_payload_has_a_stable_id_type_created_and_the_objects_public_fields(shop):
    sub = shop.live()
    mark = last_id(shop)
    actions.cancel(shop.session, **shop.ids(sub), timing="end_of_term", reason="It is too expensive", details="")
    [event] = emitted(shop, mark)
    payload = event.payload
    assert payload["id"] == event.public_id and payload["id"].startswith("evt_")
    assert payload["type"] == "subscription.cancellation_scheduled"
    assert payload["created"] == "2026-11-26T10:00:00Z"
    assert set(payload["data"]["object"]) == {f.name for f in events.OBJECTS["subscription"]}
    assert payload["data"]["object"]["status"] == "non_renewing"
    assert payload["data"]["object"]["number"] == sub.number
    assert payload["data"]["previous"] == {"status": "live"}


def test_an_invoice_and_its_payment_send_created_succeeded_and_paid(shop):
    sub = shop.live()  # issues the first term's invoice, then records its payment
    assert types(shop) == ["invoice.created", "payment.succeeded", "invoice.paid"]
    created, succeeded, paid = (e.payload["data"] for e in emitted(shop))
    invoice = shop.invoices(sub)[0]
    assert created["object"]["number"] == invoice.number and created["object"]["status"] == "open"
    assert created["object"]["total"] == invoice.total and created["object"]["currency"] == "USD"
    assert "previous" not in created
    assert succeeded["object"]["amount"] == invoice.total
    assert paid["object"]["status"] == "paid" and paid["previous"] == {"status": "open"}


def test_cancel_remove_cancellation_and_cancel_now(shop):
    sub = shop.live()
    mark = last_id(shop)
    actions.cancel(shop.session, **shop.ids(sub), timing="end_of_term", reason="It is too expensive", details="")
    actions.remove_cancellation(shop.session, **shop.ids(sub))
    actions.cancel(shop.session, **shop.ids(sub), timing="immediately", reason="It is too expensive", details="")
    assert types(shop, mark)[:3] == ["subscription.cancellation_scheduled",
                                     "subscription.cancellation_removed",
                                     "subscription.cancelled"]
    cancelled = emitted(shop, mark)[2].payload["data"]
    assert cancelled["object"]["status"] == "cancelled"
    assert cancelled["previous"] == {"status": "live"}


def test_activation_sends_activated_with_its_invoice_and_payment(shop, engine):
    card = shop.card()
    sub = shop.trial(card)
    summary = actions.activation_summary(shop.session, **shop.ids(sub))
    started = actions.activate(shop.session, **shop.ids(sub), fingerprint=summary.fingerprint(),
                               idempotency_key="activation-key-0001")
    shop.session.commit()
    assert _run_charge(engine, started.payment_id, shop.now).succeeded
    shop.session.expire_all()
    sent = types(shop)
    assert "subscription.activated" in sent and "payment.succeeded" in sent
    assert "invoice.created" in sent and "invoice.paid" in sent


def test_a_declined_charge_sends_payment_failed(shop, engine):
    card = shop.card("decline")
    sub = shop.trial(card)
    summary = actions.activation_summary(shop.session, **shop.ids(sub))
    started = actions.activate(shop.session, **shop.ids(sub), fingerprint=summary.fingerprint(),
                               idempotency_key="activation-key-0002")
    shop.session.commit()
    assert not _run_charge(engine, started.payment_id, shop.now).succeeded
    shop.session.expire_all()
    [failed] = [e for e in emitted(shop) if e.type == "payment.failed"]
    assert failed.payload["data"]["object"]["status"] == "failed"
    assert failed.payload["data"]["previous"] == {"status": "pending"}


def test_extend_trial_and_reactivate(shop):
    sub = actions.extend_trial(shop.session, **shop.ids(_expired_trial(shop)))
    assert types(shop)[-1] == "subscription.trial_extended"
    live = shop.live(start=TODAY - timedelta(days=100))
    live.status, live.cancelled_on = "cancelled", d(-50)
    mark = last_id(shop)
    summary = actions.reactivation_summary(shop.session, **shop.ids(live))
    actions.reactivate(shop.session, **shop.ids(live), fingerprint=summary.fingerprint(),
                       idempotency_key="reactivate-key-001")
    assert "subscription.reactivated" in types(shop, mark)
    assert sub.status == "trial"


def test_the_tick_pauses_resumes_converts_a_trial_and_expires_one_whose_charge_fails(shop,
                                                                                     engine):
    sub = shop.live()
    actions.schedule_pause(shop.session, **shop.ids(sub), pause_on=TODAY, resume_on=d(3))
    shop.session.commit()
    lifecycle.tick(shop.session, now=shop.now)
    assert "subscription.paused" in types(shop)
    lifecycle.tick(shop.session, now=shop.now + timedelta(days=3))
    assert "subscription.resumed" in types(shop)
    converted = shop.trial()  # no card: the trial becomes live, invoiced, at its end
    failing = shop.trial(shop.card("decline"))
    shop.session.commit()
    mark = last_id(shop)
    later = shop.now + timedelta(days=10)
    result = lifecycle.tick(shop.session, now=later)
    shop.session.commit()
    for payment_id in result.payment_ids:
        _run_charge(engine, payment_id, later)
    shop.session.expire_all()
    by_type = {}
    for event in emitted(shop, mark):
        by_type.setdefault(event.type, []).append(event.payload["data"]["object"]["id"])
    assert by_type["subscription.activated"] == [converted.id]
    assert by_type["subscription.expired"] == [failing.id]
    assert by_type["payment.failed"] and by_type["invoice.voided"]


def test_a_rolled_back_change_writes_no_event_and_no_delivery(shop):
    shop.session.add(WebhookEndpoint(url="https://hooks.example/in", event_types=["*"],
                                     secret_encrypted="x", created_at=shop.now,
                                     updated_at=shop.now))
    sub = shop.live()
    shop.session.commit()
    before = (len(emitted(shop)), len(shop.session.exec(select(WebhookDelivery)).all()))
    assert before[0] == before[1] == 3  # the first term's three events, one delivery each
    actions.cancel(shop.session, **shop.ids(sub), timing="immediately", reason="It is too expensive", details="")
    assert len(emitted(shop)) > before[0]
    shop.session.rollback()
    assert len(emitted(shop)) == before[0]
    assert len(shop.session.exec(select(WebhookDelivery)).all()) == before[1]
    assert shop.session.get(Subscription, sub.id).status == "live"


def test_deliveries_go_only_to_enabled_endpoints_subscribed_to_the_type(shop):
    def endpoint(types_, enabled=True):
        row = WebhookEndpoint(url="https://hooks.example/in", event_types=types_,
                              enabled=enabled, secret_encrypted="x", created_at=shop.now,
                              updated_at=shop.now)
        shop.session.add(row)
        shop.session.flush()
        return row.id

    everything, invoices, off = (endpoint(["*"]), endpoint(["invoice.created"]),
                                 endpoint(["*"], enabled=False))
    events.forget_endpoints(shop.session)
    invoice = ledger.issue_invoice  # noqa: F841 - the path shop.live() takes
    shop.live(paid=False)
    rows = shop.session.exec(select(WebhookDelivery.endpoint_id, WebhookDelivery.status,
                                    WebhookDelivery.next_attempt_at)).all()
    assert sorted(r[0] for r in rows) == [everything, invoices]
    assert off not in {r[0] for r in rows}
    assert all(r[1] == "pending" and r[2] == shop.now for r in rows)


def test_an_unknown_type_is_refused(shop):
    with pytest.raises(ValueError, match="unknown webhook event type"):
        events.emit(shop.session, "subscription.exploded", None, now=shop.now)


def test_every_transition_that_sends_a_type_names_one_in_the_catalogue():
    from webapp.services.core.state_machine import TRANSITIONS

    for event, moves in TRANSITIONS.items():
        for targets in moves.values():
            for to in targets:
                type_ = events.transition_type(event, to)
                assert type_ is None or type_ in events.TYPES
