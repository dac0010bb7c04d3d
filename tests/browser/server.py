"""The portal under gunicorn for browser tests: 2 sync workers on a free loopback port.

`portal_server(engine, workdir, **env)` serves the app (tests/browser/wsgi.py: the real factory
with the tests' fixed clock) against `engine`'s database until the block ends. Extra environment
(SMTP_HOST, SMTP_PORT, ...) goes in `env`; BASE_URL is the server's own address unless given.
It serves the committed catalogs, compiled first as `make run` does (`compile_catalogs`).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.conftest import FIXED_NOW

REPO_ROOT = Path(__file__).resolve().parent.parent.parent
STARTUP_SECONDS = 30
# The logs of the servers running now: a failed browser test shows what they wrote during it
# (tests/browser/conftest.py), so a 500 comes with its traceback.
RUNNING_LOGS: list[Path] = []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(process: subprocess.Popen, url: str, log: Path) -> None:
    """Poll `url` until it answers 200; fail with gunicorn's log if it exits or never does."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn exited with {process.returncode}:\n{log.read_text()[-3000:]}",
                        pytrace=False)
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.1)
    process.terminate()
    pytest.fail(f"gunicorn did not answer {url} in {STARTUP_SECONDS} s:\n"
                f"{log.read_text()[-3000:]}", pytrace=False)


def _gunicorn_command(port: int) -> list[str]:
    from gunicorn.config import Config

    command = [sys.executable, "-m", "gunicorn", "--workers", "2", "--worker-class", "sync",
               "--bind", f"127.0.0.1:{port}", "--log-level", "warning"]
    if "control_socket_disable" in Config().settings:
        command.append("--no-control-socket")  # there is one ~/.gunicorn/gunicorn.ctl per user
    return command + ["tests.browser.wsgi:app"]


def compile_catalogs() -> None:
    """Every committed catalog's .mo (webapp/translations/*/LC_MESSAGES/messages.po), what
    `pybabel compile` writes: a gunicorn worker reads which languages exist once, on its first
    page, so they are compiled before the server starts (README, "Languages")."""
    from webapp.i18n_tools import read_catalog, write_catalog
    from webapp.services.core import i18n, languages

    for po in sorted(i18n.TRANSLATIONS_DIR.glob("*/LC_MESSAGES/messages.po")):
        write_catalog(read_catalog(po), po, po=False, compile_mo=True)
    i18n.translations_for.cache_clear()  # this process (the tests) reads them anew too
    languages.refresh()


@contextmanager
def portal_server(engine: Engine, workdir: Path, **env: str) -> Iterator[str]:
    """Serve the portal on `engine`'s database; yields its base URL, stops it after."""
    compile_catalogs()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    environment = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    environment.update({
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "SECRET_KEY": "browser-test-secret-key",
        "LOGIN_RATE_LIMIT": "10000 per minute",
        "PORTAL_INSTANCE_PATH": str(workdir / "instance"),
        "PORTAL_FIXED_NOW": FIXED_NOW.isoformat(),
        "BASE_URL": url,
        **env,
    })
    log = workdir / "gunicorn.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(_gunicorn_command(port), cwd=REPO_ROOT, env=environment,
                                   stdout=log_file, stderr=subprocess.STDOUT)
    RUNNING_LOGS.append(log)
    try:
        wait_until_serving(process, f"{url}/login", log)
        yield url
    finally:
        RUNNING_LOGS.remove(log)
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
