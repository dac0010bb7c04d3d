"""Forgot password, in chromium: the reset link travels by real SMTP to a sink on loopback.

This module serves the portal as `make run` does: gunicorn, configured like the suite's (see
conftest.base_url) plus SMTP_HOST/SMTP_PORT of an aiosmtpd sink and BASE_URL of that server,
and beside it the in-process schedule (`flask cron`), which sends the reset mail (the request
only records it). The mail lands in the sink with a link back here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.browser.conftest import REPO_ROOT, _free_port, _wait_until_serving
from tests.browser.support import click_through, login, logout, path_of, visit
from tests.conftest import FIXED_NOW
from tests.mail_sink import LINK, MailSink, link_in, text_of
from webapp import demo

NEW_PASSWORD = "reset-from-the-mail-7"


@pytest.fixture(scope="module")
def mail_sink() -> Iterator[MailSink]:
    sink = MailSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def base_url(browser_engine, mail_sink, tmp_path_factory) -> Iterator[str]:
    """The portal under gunicorn, mailing through the sink; overrides the suite's server."""
    workdir = tmp_path_factory.mktemp("portal-mail-server")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update({
        "DATABASE_URL": browser_engine.url.render_as_string(hide_password=False),
        "SECRET_KEY": "browser-test-secret-key", "LOGIN_RATE_LIMIT": "10000 per minute",
        "PORTAL_INSTANCE_PATH": str(workdir / "instance"),
        "PORTAL_FIXED_NOW": FIXED_NOW.isoformat(), "BASE_URL": url,
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mail_sink.port),
    })
    log = workdir / "gunicorn.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
             "--log-level", "warning", "tests.browser.wsgi:app"],
            cwd=REPO_ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        schedule = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "tests.browser.wsgi:app", "cron",
             "--every", "1"], cwd=REPO_ROOT, env=env, stdout=log_file,
            stderr=subprocess.STDOUT)
    try:
        _wait_until_serving(process, f"{url}/login", log)
        yield url
    finally:
        for running in (process, schedule):
            running.terminate()
            try:
                running.wait(timeout=10)
            except subprocess.TimeoutExpired:
                running.kill()
                running.wait()


def test_jane_resets_her_forgotten_password_from_the_mailed_link_and_logs_in(page, mail_sink,
                                                                             base_url):
    visit(page, "/login")
    click_through(page, page.get_by_role("link", name="Forgot password?"))
    page.get_by_label("Email").fill(demo.JANE[0])
    click_through(page, page.get_by_role("button", name="Email me a link"))
    assert "If that email has an account, we've sent a link" in page.get_by_role(
        "main").inner_text()

    mail = mail_sink.wait_for_one(lambda m: LINK.search(text_of(m)) is not None)
    assert mail["To"] == demo.JANE[0]
    link = link_in(mail)
    assert link.startswith(f"{base_url}/password/reset/")
    visit(page, urlsplit(link).path)
    # The field's help text is part of its label's name, hence the pattern.
    page.get_by_label(re.compile(r"^New password")).fill(NEW_PASSWORD)
    page.get_by_label("Confirm new password").fill(NEW_PASSWORD)
    click_through(page, page.get_by_role("button", name="Set password"))

    assert path_of(page) == "/"  # the link signs her in
    assert "Your password has been changed" in page.get_by_role("main").inner_text()
    logout(page)
    login(page, demo.JANE[0], NEW_PASSWORD)
    assert page.get_by_role("heading", level=1).inner_text() == "Home"
