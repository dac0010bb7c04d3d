"""What stands between a guesser and an account: the per-address limit shared by every web
worker, the per-account throttle, the trusted proxy setting, and a forgot-password request that
costs the same for any address."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
from redis import Redis
from rq import Queue
from sqlmodel import select

from tests.browser.server import portal_server
from tests.conftest import REDIS_URL, csrf_token_from
from tests.web.app.test_query_counts import count_queries
from webapp import demo
from webapp.db import db
from webapp.models import AccountNotice, OutboxMessage


def _post_login(client, email=demo.JANE[0], password="not-her-password", **environ):
    token = csrf_token_from(client.get("/login", environ_base=environ).get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": token}, environ_base=environ)


# --- The per-account throttle ----------------------------------------------------------------

def test_wrong_passwords_for_one_account_make_the_next_tries_wait(app, client, seeded):
    codes = [_post_login(client).status_code for _ in range(6)]
    assert codes == [422] * 5 + [429]
    refused = _post_login(client, password=demo.JANE[1])  # even the right one, for now
    assert refused.status_code == 429
    assert "Too many wrong passwords for this account. Try again in 1 minute" in \
        refused.get_data(as_text=True)
    app.config["FIXED_NOW"] += timedelta(seconds=31)
    assert _post_login(client, password=demo.JANE[1]).status_code == 303


def test_an_unknown_email_gets_the_same_answers_as_a_known_one(app, client, seeded):
    def answers(email):
        return [(r.status_code, re.sub(r'value="[^"]*"|"X-CSRFToken": "[^"]*"', "",
                                       r.get_data(as_text=True)).replace(email, "EMAIL"))
                for r in (_post_login(client, email=email) for _ in range(7))]

    assert answers(demo.JANE[0]) == answers("nobody@example.com")


def test_a_browser_that_signed_in_before_is_not_held_back(app, client, seeded):
    assert _post_login(client, password=demo.JANE[1]).status_code == 303
    assert client.get_cookie("portal_device") is not None
    client.post("/logout", data={"csrf_token": csrf_token_from(
        client.get("/account").get_data(as_text=True))})
    guesser = app.test_client()
    assert [_post_login(guesser).status_code for _ in range(6)][-1] == 429
    assert _post_login(client, password=demo.JANE[1]).status_code == 303


def test_the_owner_is_emailed_once_when_the_throttling_starts(app, client, seeded):
    from worker import jobs

    for _ in range(8):
        _post_login(client)
    with app.app_context():
        assert jobs.sweep_account_notices() == 1
        mails = db.session.exec(select(OutboxMessage).where(
            OutboxMessage.template == "login_throttled")).all()
        assert [m.to_address for m in mails] == [demo.JANE[0]]


# --- A forgot-password request does the same work for any address ----------------------------

def _forgot(client, app, email) -> tuple[list[str], list[int]]:
    token = csrf_token_from(client.get("/password/forgot").get_data(as_text=True))
    with count_queries(app.extensions["database"]) as statements:
        response = client.post("/password/forgot", data={"email": email, "csrf_token": token})
    assert response.status_code == 200
    with app.app_context():
        notices = db.session.exec(select(AccountNotice.id).order_by(AccountNotice.id)).all()
    return [re.sub(r"\d+", "N", s) for s in statements], list(notices)


def test_without_redis_known_and_unknown_addresses_run_the_same_statements_and_no_mail(
        app, client, seeded):
    known, _ = _forgot(client, app, demo.JANE[0])
    unknown, notices = _forgot(client, app, "nobody@example.com")
    assert known == unknown and any("INSERT INTO account_notice" in s for s in known)
    assert len(notices) == 2
    with app.app_context():
        assert db.session.exec(select(OutboxMessage)).all() == []  # the schedule sends it


@pytest.fixture
def rq_queue(app):
    connection = Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"Redis is required at {REDIS_URL}: {exc}", pytrace=False)
    connection.flushdb()
    app.config["REDIS_URL"] = REDIS_URL
    yield Queue("default", connection=connection)
    connection.flushdb()


def test_with_redis_known_and_unknown_addresses_queue_the_same_job(app, client, seeded,
                                                                   rq_queue):
    known, _ = _forgot(client, app, demo.JANE[0])
    unknown, notices = _forgot(client, app, "nobody@example.com")
    assert known == unknown
    jobs = rq_queue.get_jobs()
    assert [(j.func_name, j.args) for j in jobs] == [
        ("worker.jobs.process_account_notice", (notices[0],)),
        ("worker.jobs.process_account_notice", (notices[1],))]
    with app.app_context():
        assert db.session.exec(select(OutboxMessage)).all() == []  # the worker sends it


# --- The per-address limit, shared by every worker -------------------------------------------

def _login_posts(base_url: str, count: int) -> list[int]:
    """`count` failed logins, each on a new connection (gunicorn's workers take turns)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    token = csrf_token_from(opener.open(f"{base_url}/login").read().decode())
    codes = []
    for index in range(count):
        body = urllib.parse.urlencode({"email": f"guess{index}@example.com",
                                       "password": "wrong-password", "csrf_token": token})
        try:
            codes.append(opener.open(f"{base_url}/login", data=body.encode()).status)
        except urllib.error.HTTPError as error:
            codes.append(error.code)
    return codes


def test_the_login_limit_is_exact_across_two_gunicorn_workers(engine, tmp_path):
    codes = _login_posts_under_gunicorn(engine, tmp_path)
    assert codes.count(422) == 10 and codes.count(429) == 10, codes


def _login_posts_under_gunicorn(engine, tmp_path) -> list[int]:
    with portal_server(engine, tmp_path, LOGIN_RATE_LIMIT="10 per minute") as base_url:
        return _login_posts(base_url, 20)


def test_without_trusted_proxies_a_forwarded_address_does_not_dodge_the_limit(app, client,
                                                                              seeded):
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    codes = [_post_login(client, email=f"x{i}@example.com",
                         HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code for i in range(4)]
    assert codes == [422, 422, 422, 429]


def test_behind_one_trusted_proxy_each_client_address_has_its_own_limit(engine, seeded):
    from tests.conftest import FIXED_NOW
    from webapp import create_app

    proxied = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key", "REDIS_URL": None,
                          "DATABASE_URL": engine.url.render_as_string(hide_password=False),
                          "LOGIN_RATE_LIMIT": "3 per minute", "FIXED_NOW": FIXED_NOW,
                          "TRUSTED_PROXY_HOPS": 1})
    client = proxied.test_client()
    first = [_post_login(client, email=f"a{i}@example.com",
                         HTTP_X_FORWARDED_FOR="198.51.100.1").status_code for i in range(4)]
    second = _post_login(client, email="b@example.com", HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert first == [422, 422, 422, 429] and second.status_code == 422
