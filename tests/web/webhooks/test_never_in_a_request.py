"""A customer's request writes the webhook event and returns: no delivery is attempted inside
it, even with a receiver that sleeps; the schedule's job sends it afterwards. With RQ the
commit queues that job for a worker instead."""

from __future__ import annotations

import pytest
from redis import Redis
from rq import Queue
from sqlmodel import select

from tests.conftest import REDIS_URL
from tests.web.subscriptions.test_subscription_actions import HX, _post, _sub_id
from tests.webhook_receiver import Receiver
from webapp import dispatch
from webapp.db import db
from webapp.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webapp.services.admin import Actor
from webapp.services.admin import webhooks as admin_webhooks


@pytest.fixture
def jane(client, auth, seeded):
    auth.login()
    return seeded.jane_customer_id


@pytest.fixture
def receiver():
    with Receiver() as receiver:
        yield receiver


def _endpoint(app, receiver: Receiver) -> int:
    with app.app_context():
        created = admin_webhooks.create(
            db.session, actor=Actor(None, "test"), now=app.config["FIXED_NOW"],
            key=app.config["SECRET_KEY"], policy=admin_webhooks.Policy(production=False),
            data=admin_webhooks.EndpointInput(url=receiver.url, all_types=True))
        receiver.secrets.append(created.secret)
        db.session.commit()
        return created.endpoint.id


def _deliveries(app) -> list[tuple[str, int]]:
    with app.app_context():
        return [(d.status, d.attempts) for d in db.session.exec(select(WebhookDelivery))]


@pytest.mark.parametrize("htmx", [False, True])
def test_cancelling_returns_before_any_delivery_then_the_schedule_sends_it(app, client, jane,
                                                                          receiver, htmx):
    _endpoint(app, receiver)
    receiver.sleep_seconds = 2  # a slow receiver: a request that waited on it would show it
    sub_id = _sub_id(app, jane, "live")
    response = _post(client, sub_id, "cancel", {"timing": "end_of_term",
                                                "reason": "I no longer need it"}, htmx=htmx)
    assert response.status_code == (200 if htmx else 303)
    assert _deliveries(app) == [("pending", 0)]  # written with the change, not attempted
    assert receiver.received == [] and receiver.rejected == []
    with app.app_context():
        assert db.session.exec(select(WebhookAttempt)).all() == []
        from worker import jobs

        assert jobs.send_webhooks() == 1
    [arrival] = receiver.received
    assert arrival.payload["type"] == "subscription.cancellation_scheduled"
    assert arrival.payload["data"]["object"]["id"] == sub_id
    assert _deliveries(app) == [("delivered", 1)]


def test_with_redis_the_commit_queues_the_sending_job_for_a_worker(app, client, jane, receiver):
    app.config["REDIS_URL"] = REDIS_URL
    redis = Redis.from_url(REDIS_URL)
    queue = Queue(dispatch.QUEUE_NAME, connection=redis)
    queue.empty()
    _endpoint(app, receiver)
    sub_id = _sub_id(app, jane, "live")
    response = _post(client, sub_id, "cancel", {"timing": "end_of_term",
                                                "reason": "I no longer need it"}, htmx=True)
    assert response.status_code == 200 and HX
    assert dispatch.SEND_WEBHOOKS in [job.func_name for job in queue.jobs]
    assert _deliveries(app) == [("pending", 0)] and receiver.received == []
    queue.empty()


def test_a_refused_change_writes_no_event(app, client, jane, receiver):
    _endpoint(app, receiver)
    sub_id = _sub_id(app, jane, "cancelled")
    response = _post(client, sub_id, "cancel", {"timing": "end_of_term", "reason": "x"})
    assert response.status_code == 303  # back to the page, with the refusal
    assert _deliveries(app) == []
    with app.app_context():
        assert db.session.exec(select(WebhookEndpoint)).one().enabled
