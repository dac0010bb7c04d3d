"""Sending webhooks for real to a receiver on 127.0.0.1 that verifies with standardwebhooks'
own Webhook.verify: signing, the retry schedule stepped by the clock passed in, at least once
with the same id, disabling after 5 days, secret rotation, address rules, resend, replay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from tests.unit.subscriptions.test_subscription_actions import Shop
from tests.webhook_receiver import Receiver
from webapp.models import (
    AuditEntry,
    Notification,
    OutboxMessage,
    User,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from webapp.services.admin import Actor
from webapp.services.admin import webhooks as admin_webhooks
from webapp.services.core import events
from webapp.services.core.preferences import InvalidChanges
from webapp.services.webhooks import addresses, keys, sending

KEY = "test-secret-key"
ADMIN = Actor(user_id=None, label="test admin")
DEV = admin_webhooks.Policy(production=False)


def public_resolver(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]  # a public address, whatever the name


@pytest.fixture
def shop(session, now) -> Shop:
    return Shop(session, now)


@pytest.fixture
def receiver():
    with Receiver() as receiver:
        yield receiver


def add_endpoint(session, now, receiver: Receiver, types=("*",)) -> WebhookEndpoint:
    created = admin_webhooks.create(
        session, actor=ADMIN, now=now, key=KEY, policy=DEV,
        data=admin_webhooks.EndpointInput(url=receiver.url, event_types=tuple(types),
                                          all_types="*" in types))
    receiver.secrets.append(created.secret)
    session.commit()
    return created.endpoint


def sweep(session, now: datetime, *, production: bool = False,
          resolve: addresses.Resolver = addresses.system_resolver, timeout: float = 5) -> int:
    """What the schedule's job does, with the clock passed in: claim what is due (committed),
    then for each: prepare, post (no transaction open), record (committed)."""
    claimed = sending.claim(session, sending.due(session, now=now, limit=500), now=now)
    session.commit()
    for delivery_id in claimed:
        request = sending.prepare(session, delivery_id=delivery_id, now=now, key=KEY)
        session.commit()
        result = sending.post(request, sent_at=datetime.now(UTC), production=production,
                              resolve=resolve, timeout=timeout)
        sending.record(session, delivery_id=delivery_id, result=result, now=now)
        session.commit()
    return len(claimed)


def deliveries(session) -> list[WebhookDelivery]:
    session.expire_all()
    return list(session.exec(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_each_event_arrives_signed_once_with_its_id_and_payload(shop, receiver):
    add_endpoint(shop.session, shop.now, receiver)
    shop.live()
    shop.session.commit()
    assert sweep(shop.session, shop.now) == 3
    assert receiver.rejected == []
    assert receiver.types() == ["invoice.created", "payment.succeeded", "invoice.paid"]
    stored = shop.session.exec(select(WebhookEvent).order_by(WebhookEvent.id)).all()
    assert receiver.ids == [e.public_id for e in stored]
    assert [a.payload for a in receiver.received] == [e.payload for e in stored]
    assert all(d.status == "delivered" and d.attempts == 1 for d in deliveries(shop.session))
    assert sweep(shop.session, shop.now + timedelta(hours=1)) == 0  # nothing sent twice
    attempt = shop.session.exec(select(WebhookAttempt)).first()
    assert attempt.status_code == 200 and attempt.response_body == "ok"
    assert attempt.latency_ms >= 0 and attempt.error is None


def test_down_for_three_attempts_then_up_each_event_arrives_with_the_same_id(shop, receiver):
    endpoint = add_endpoint(shop.session, shop.now, receiver, types=("invoice.created",))
    shop.live(paid=False)
    shop.session.commit()
    receiver.stop()
    at = shop.now
    steps = []
    for wait in sending.SCHEDULE[1:4]:  # attempts 1-3 refused, each setting the next time
        assert sweep(shop.session, at) == 1
        [delivery] = deliveries(shop.session)
        steps.append(delivery.next_attempt_at - at)
        assert sweep(shop.session, at + timedelta(seconds=wait - 1)) == 0  # not due yet
        at += timedelta(seconds=wait)
    assert steps == [timedelta(seconds=s) for s in sending.SCHEDULE[1:4]]
    receiver.start()
    assert sweep(shop.session, at) == 1
    [delivery] = deliveries(shop.session)
    assert (delivery.status, delivery.attempts) == ("delivered", 4)
    errors = [a.error for a in shop.session.exec(select(WebhookAttempt).order_by(WebhookAttempt.id))]
    assert all(e.startswith("Connection failed") for e in errors[:3]) and errors[3] is None
    event = shop.session.exec(select(WebhookEvent)).one()
    assert receiver.ids == [event.public_id]
    assert shop.session.get(WebhookEndpoint, endpoint.id).failing_since is None


def test_failures_answered_by_the_receiver_are_retried_with_the_same_id(shop, receiver):
    add_endpoint(shop.session, shop.now, receiver, types=("invoice.created",))
    shop.live(paid=False)
    shop.session.commit()
    receiver.fail_next(2, status=500)
    at = shop.now
    for wait in (*sending.SCHEDULE[1:3], 0):
        sweep(shop.session, at)
        at += timedelta(seconds=wait)
    event = shop.session.exec(select(WebhookEvent)).one()
    assert receiver.failed_ids == [event.public_id] * 2 and receiver.ids == [event.public_id]


def test_a_redirect_is_a_failure_and_is_not_followed(shop, receiver):
    add_endpoint(shop.session, shop.now, receiver, types=("invoice.created",))
    receiver.status = 302
    shop.live(paid=False)
    shop.session.commit()
    sweep(shop.session, shop.now)
    [delivery] = deliveries(shop.session)
    assert delivery.status == "pending" and delivery.last_status_code == 302
    assert delivery.last_error.startswith("Redirect")


def test_a_receiver_slower_than_the_timeout_is_a_failure(shop, receiver):
    add_endpoint(shop.session, shop.now, receiver, types=("invoice.created",))
    receiver.sleep_seconds = 1.5
    shop.live(paid=False)
    shop.session.commit()
    sweep(shop.session, shop.now, timeout=0.3)
    [delivery] = deliveries(shop.session)
    assert delivery.status == "pending" and delivery.last_error == "Timed out after 0.3 s"


def test_after_the_whole_schedule_the_delivery_fails(shop, receiver):
    add_endpoint(shop.session, shop.now, receiver, types=("invoice.created",))
    shop.live(paid=False)
    shop.session.commit()
    receiver.stop()
    at = shop.now
    for wait in (*sending.SCHEDULE[1:], 0):
        assert sweep(shop.session, at) == 1
        at += timedelta(seconds=wait)
    [delivery] = deliveries(shop.session)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == \
        ("failed", len(sending.SCHEDULE), None)
    assert sweep(shop.session, at + timedelta(days=1)) == 0


def test_an_endpoint_failing_for_five_days_is_disabled_and_the_admins_emailed(shop, receiver):
    shop.session.add(User(email="boss@example.com", role="admin", created_at=shop.now))
    endpoint = add_endpoint(shop.session, shop.now, receiver)
    receiver.stop()
    at = shop.now
    for day in range(6):
        at = shop.now + timedelta(days=day)
        events.emit(shop.session, "review.created", {"id": day}, now=at)
        shop.session.commit()
        sweep(shop.session, at)
        shop.session.refresh(endpoint)
        assert endpoint.enabled == (day < 5)
    assert endpoint.failing_since == shop.now
    assert "5 days" in endpoint.disabled_reason
    mail = shop.session.exec(select(OutboxMessage).where(
        OutboxMessage.template == "webhook_endpoint_disabled")).one()
    assert mail.to_address == "boss@example.com" and receiver.url in mail.subject
    assert shop.session.exec(select(Notification).where(
        Notification.event == sending.DISABLED_EVENT)).one()
    # Disabled: nothing is sent or queued for it; enabling it again sends what was held.
    events.emit(shop.session, "review.created", {"id": 9}, now=at)
    shop.session.commit()
    assert sweep(shop.session, at + timedelta(days=1)) == 0
    receiver.start()
    admin_webhooks.set_enabled(shop.session, actor=ADMIN, endpoint_id=endpoint.id,
                               enabled=True, now=at)
    shop.session.commit()
    sweep(shop.session, at + timedelta(days=2))
    assert len(receiver.ids) == len(set(receiver.ids)) >= 1


def test_a_rotated_secret_signs_with_both_during_the_overlap_then_only_the_new(shop, receiver):
    endpoint = add_endpoint(shop.session, shop.now, receiver)
    rotated = admin_webhooks.rotate_secret(shop.session, actor=ADMIN, endpoint_id=endpoint.id,
                                           key=KEY, now=shop.now,
                                           overlap=timedelta(hours=1))
    receiver.secrets.append(rotated.secret)
    shop.session.commit()
    events.emit(shop.session, "review.created", {"id": 1}, now=shop.now)
    shop.session.commit()
    sweep(shop.session, shop.now)
    first = receiver.wait_for(1)[0]
    assert first.verified_with == (0, 1)
    assert len(first.headers["webhook-signature"].split(" ")) == 2
    later = shop.now + timedelta(hours=1, seconds=1)
    events.emit(shop.session, "review.created", {"id": 2}, now=later)
    shop.session.commit()
    sweep(shop.session, later)
    assert receiver.received[1].verified_with == (1,)  # the old secret no longer verifies


def test_secrets_are_encrypted_at_rest_and_unreadable_with_another_key(shop, receiver):
    endpoint = add_endpoint(shop.session, shop.now, receiver)
    secret = receiver.secrets[0]
    assert secret.startswith("whsec_") and secret not in endpoint.secret_encrypted
    assert keys.decrypt(endpoint.secret_encrypted, key=KEY) == secret
    with pytest.raises(keys.UnreadableSecret):
        keys.decrypt(endpoint.secret_encrypted, key="another key")
    audited = repr([(e.before, e.after) for e in shop.session.exec(select(AuditEntry))])
    assert secret not in audited


def test_the_encryption_key_is_webhook_encryption_key_when_set_else_secret_key(tmp_path):
    from webapp.config import from_environment

    plain = from_environment(tmp_path, {"SECRET_KEY": "s"})
    separate = from_environment(tmp_path, {"SECRET_KEY": "s", "WEBHOOK_ENCRYPTION_KEY": "w"})
    assert keys.encryption_key(plain) == "s" and keys.encryption_key(separate) == "w"
    token = keys.encrypt("whsec_x", key=keys.encryption_key(separate))
    assert keys.decrypt(token, key="w") == "whsec_x"


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/hooks", "https://10.1.2.3/hooks", "https://192.168.0.10/hooks",
    "https://169.254.169.254/latest/meta-data", "https://[::1]/hooks",
    "https://[::ffff:10.0.0.1]/hooks", "http://hooks.example.com/in",
])
def test_production_refuses_internal_addresses_and_plain_http(shop, url):
    policy = admin_webhooks.Policy(production=True, resolve=addresses.system_resolver)
    with pytest.raises(InvalidChanges) as refused:
        admin_webhooks.create(shop.session, actor=ADMIN, now=shop.now, key=KEY, policy=policy,
                              data=admin_webhooks.EndpointInput(url=url, all_types=True))
    assert "url" in refused.value.errors
    assert shop.session.exec(select(WebhookEndpoint)).all() == []


def test_production_checks_again_at_send_time_and_connects_to_no_internal_address(shop,
                                                                                 receiver):
    # Saved while the name resolved to a public address; at send time it resolves to
    # 127.0.0.1 (as with DNS rebinding), and the request is refused before connecting.
    url = f"https://localhost:{receiver.port}/hooks"
    created = admin_webhooks.create(
        shop.session, actor=ADMIN, now=shop.now, key=KEY,
        policy=admin_webhooks.Policy(production=True, resolve=public_resolver),
        data=admin_webhooks.EndpointInput(url=url, all_types=True))
    receiver.secrets.append(created.secret)
    shop.session.commit()
    events.emit(shop.session, "review.created", {"id": 1}, now=shop.now)
    shop.session.commit()
    sweep(shop.session, shop.now, production=True)
    [delivery] = deliveries(shop.session)
    assert delivery.status == "pending"
    assert delivery.last_error.startswith("Refused: localhost resolves to 127.0.0.1")
    assert receiver.received == [] and receiver.rejected == []


def test_the_connection_goes_to_the_checked_address_with_the_urls_host(shop, receiver):
    # The name is resolved once, by the resolver given: the request reaches 127.0.0.1 with
    # the URL's own name in the Host header.
    endpoint = add_endpoint(shop.session, shop.now, receiver)
    endpoint.url = f"http://hooks.example.test:{receiver.port}/hooks"
    shop.session.commit()
    events.emit(shop.session, "review.created", {"id": 1}, now=shop.now)
    shop.session.commit()
    sweep(shop.session, shop.now, resolve=lambda host, port: ["127.0.0.1"])
    [arrival] = receiver.wait_for(1)
    assert arrival.headers["Host"] == f"hooks.example.test:{receiver.port}"


def test_each_checked_address_is_tried_until_one_accepts(shop, receiver):
    add_endpoint(shop.session, shop.now, receiver)
    events.emit(shop.session, "review.created", {"id": 1}, now=shop.now)
    shop.session.commit()
    sweep(shop.session, shop.now, resolve=lambda host, port: ["::1", "127.0.0.1"])
    assert len(receiver.wait_for(1)) == 1  # nothing listens on ::1: the next address took it


def test_resend_and_replay_since_send_the_same_events_again(shop, receiver):
    endpoint = add_endpoint(shop.session, shop.now, receiver, types=("invoice.created",))
    shop.live(paid=False)
    later = shop.now + timedelta(days=3)
    events.emit(shop.session, "invoice.created", {"id": 99}, now=later)
    events.emit(shop.session, "review.created", {"id": 1}, now=later)  # not its type
    shop.session.commit()
    sweep(shop.session, later)
    first, second = receiver.ids
    [delivery, _] = deliveries(shop.session)
    admin_webhooks.resend(shop.session, actor=ADMIN, endpoint_id=endpoint.id,
                          delivery_id=delivery.id, now=later)
    shop.session.commit()
    sweep(shop.session, later)
    assert receiver.ids == [first, second, first]
    count = admin_webhooks.replay(shop.session, actor=ADMIN, endpoint_id=endpoint.id,
                                  since=later.date(), until=None, now=later)
    shop.session.commit()
    sweep(shop.session, later)
    assert count == 1 and receiver.ids == [first, second, first, second]
    with pytest.raises(InvalidChanges):
        admin_webhooks.replay(shop.session, actor=ADMIN, endpoint_id=endpoint.id, since=None,
                              until=None, now=later)


def test_a_test_event_goes_to_its_endpoint_alone(shop, receiver):
    endpoint = add_endpoint(shop.session, shop.now, receiver, types=("invoice.paid",))
    with Receiver() as other:
        add_endpoint(shop.session, shop.now, other)
        event = admin_webhooks.send_test(shop.session, actor=ADMIN, endpoint_id=endpoint.id,
                                         now=shop.now)
        shop.session.commit()
        sweep(shop.session, shop.now)
        assert receiver.ids == [event.public_id] and other.ids == []
    assert receiver.received[0].payload["type"] == "test.ping"
