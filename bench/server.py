"""gunicorn as the Procfile runs it (2 sync workers), plus the bare floor routes; a login."""

from __future__ import annotations

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.database import CACHE, ROOT, Backend

USER_AGENT = "portal-bench/1.0"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def log_file(name: str) -> Path:
    """Where a bench gunicorn logs: bench/.cache, made here if a fresh clone has none
    (PostgreSQL runs first, before the SQLite seeding that used to make it)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    return CACHE / f"{name}.log"


@contextmanager
def gunicorn(b: Backend, workers: int = 2):
    """Yield the base URL of a running gunicorn on a free port; stop it afterwards."""
    with gunicorn_serving(f"gunicorn-{b.name}", {
            "DATABASE_URL": b.url,
            "LOGIN_RATE_LIMIT": "1000 per minute"}, workers=workers) as base:
        yield base


@contextmanager
def gunicorn_serving(name: str, settings: dict[str, str], workers: int = 2, root: Path = ROOT,
                     app: str | None = None, ready: str = "/login"):
    """The portal in `root` (this checkout by default) under gunicorn, with `settings` over
    this environment (no REDIS_URL unless given); yields its base URL, logs to
    bench/.cache/<name>.log. The bench's app (with the floor routes) where the checkout has
    one, else the portal's own factory (an older checkout served by bench.compare)."""
    port = free_port()
    log = log_file(name)
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env.update({"SECRET_KEY": "bench-secret-key", **settings})
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--worker-class", "sync",
         "--bind", f"127.0.0.1:{port}", "--error-logfile", str(log), app or _app_of(root)],
        cwd=root, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base + ready, process, log)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def bare_flask(b: Backend, workers: int = 2):
    """The plain Flask + SQLModel floor (bench/bare.py) on the same database; its base URL."""
    with gunicorn_serving(f"bare-{b.name}", {"DATABASE_URL": b.url}, workers=workers,
                          app="bench.bare:create_app()", ready="/") as base:
        yield base


def _app_of(root: Path) -> str:
    return ("bench.wsgi:create_app()" if (root / "bench" / "wsgi.py").is_file()
            else "webapp:create_app()")


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited; see {log}")
        try:
            with urllib.request.urlopen(url, timeout=10):
                return
        except OSError:  # refused, reset or timed out while the workers boot
            time.sleep(0.3)
    raise RuntimeError(f"gunicorn did not answer within 60 s; see {log}")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass(frozen=True)
class Client:
    """Requests as the logged-in customer: the session cookie and a fixed User-Agent (Flask-
    Login's strong session protection ties the session to both)."""

    base: str
    cookie: str

    def headers(self, htmx: bool = False) -> dict[str, str]:
        headers = {"Cookie": self.cookie, "User-Agent": USER_AGENT}
        if htmx:
            headers["HX-Request"] = "true"
        return headers

    def get(self, path: str, htmx: bool = False) -> tuple[int, str]:
        """Status and body, without following redirects (a redirect to /login is a failure)."""
        opener = urllib.request.build_opener(_NoRedirect)
        request = urllib.request.Request(self.base + path, headers=self.headers(htmx))
        try:
            with opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")


    def post_form(self, path: str, fields: dict[str, str]) -> str:
        """Submit the form on `path` (with its CSRF token) as a person would; the redirect's
        target, which a successful POST answers with."""
        status, body = self.get(path)
        token = CSRF.search(body)
        if status != 200 or token is None:
            raise RuntimeError(f"{path} answered {status} without a form")
        data = urllib.parse.urlencode({**fields, "csrf_token": token.group(1)}).encode()
        request = urllib.request.Request(self.base + path, data=data, headers=self.headers())
        try:
            urllib.request.build_opener(_NoRedirect).open(request, timeout=60)
        except urllib.error.HTTPError as error:
            if error.code == 303:
                return error.headers["Location"].removeprefix(self.base)
            raise RuntimeError(f"POST {path} answered {error.code}: "
                               f"{error.read().decode(errors='replace')[:500]}") from None
        raise RuntimeError(f"POST {path} did not redirect")


def login(base: str, email: str, password: str, home: str = "/") -> Client:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    opener.addheaders = [("User-Agent", USER_AGENT)]
    with opener.open(f"{base}/login", timeout=30) as response:
        token = CSRF.search(response.read().decode()).group(1)
    form = urllib.parse.urlencode({"email": email, "password": password,
                                   "csrf_token": token}).encode()
    try:
        opener.open(f"{base}/login", data=form, timeout=30)
        raise RuntimeError(f"logging in as {email} did not redirect; wrong password?")
    except urllib.error.HTTPError as error:
        if error.code not in (302, 303):
            raise
    # One page as a browser would load it next: its response adds the CSRF secret to the
    # session, and a browser sends that cookie from then on (a cookie without it would make
    # every request mint a new secret and re-sign the session, which no browser causes).
    with opener.open(f"{base}{home}", timeout=30):  # the admin's home is /admin/
        pass
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    return Client(base, cookie)
