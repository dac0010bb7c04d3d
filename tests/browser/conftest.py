"""Browser tests: the real app under gunicorn on PostgreSQL, driven by Debian's chromium.

One PostgreSQL database and one gunicorn (2 sync workers) per test run; before each test the
tables are emptied and the demo is seeded again, so a test may change data freely. Pages come
from `page` (JavaScript on), `page_without_js`, or `open_page(...)` for more sessions or other
context options (viewport, ...). Every page is watched (see tests/browser/support.py): axe-core
on every page, and a CSP violation or JavaScript error fails the test.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.browser.server import REPO_ROOT, RUNNING_LOGS, portal_server  # noqa: F401 (REPO_ROOT: modules import it)
from tests.browser.server import free_port as _free_port  # noqa: F401 (modules import these)
from tests.browser.server import wait_until_serving as _wait_until_serving  # noqa: F401
from tests.browser.support import AXE_SOURCE, PageWatch, watch_page
from tests.conftest import (
    FIXED_NOW,
    create_postgres_database,
    drop_postgres_database,
    postgres_url,
    wipe,
)
from webapp import demo
from webapp.db import make_engine
from webapp.models import metadata

BROWSER_DIR = Path(__file__).resolve().parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
WATCHES = pytest.StashKey[list[PageWatch]]()
LOG_SIZES = pytest.StashKey[dict[Path, int]]()


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if BROWSER_DIR in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item) -> Iterator[None]:
    """Where each running server's log stands before the test (its fixtures start them)."""
    item.stash[LOG_SIZES] = {log: log.stat().st_size for log in RUNNING_LOGS if log.exists()}
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed browser test's report holds what the servers logged since it began: a 500's
    traceback is in gunicorn's log, not in the browser."""
    report = yield
    if report.failed:
        sizes = item.stash.get(LOG_SIZES, {})
        for log in list(RUNNING_LOGS):
            if log.exists():
                with log.open("rb") as file:
                    file.seek(sizes.get(log, 0))
                    written = file.read().decode(errors="replace")
                if written:
                    report.sections.append((f"server log {log.parent.name}",
                                            written[-20_000:]))
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item) -> Iterator[None]:
    """After a test body passes: every page it left must be accessible and CSP-clean."""
    result = yield
    for watch in item.stash.get(WATCHES, []):
        watch.finish()
    return result


@pytest.fixture(scope="session")
def browser_engine() -> Iterator[Engine]:
    name = create_postgres_database("portal_browser")
    engine = make_engine(postgres_url(name))
    metadata.create_all(engine)
    yield engine
    engine.dispose()
    drop_postgres_database(name)


@pytest.fixture(scope="session")
def base_url(browser_engine, tmp_path_factory) -> Iterator[str]:
    """The portal under gunicorn, as `make run` serves it, on a free loopback port.

    A module that needs other settings (an SMTP sink, ...) overrides this fixture with
    `with portal_server(browser_engine, tmp_path_factory.mktemp("x"), SMTP_PORT=...) as url`.
    """
    with portal_server(browser_engine, tmp_path_factory.mktemp("portal-server")) as url:
        yield url


@pytest.fixture(autouse=True)
def demo_data(browser_engine, base_url) -> demo.DemoSeeded:
    """Every browser test starts from the freshly seeded demo."""
    wipe(browser_engine)
    with Session(browser_engine, expire_on_commit=False) as session:
        seeded = demo.seed_demo(session, now=FIXED_NOW)
        session.commit()
    return seeded


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        pytest.fail("Debian's chromium is required for the browser tests: run `make chromium` "
                    "(never `playwright install`).", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, base_url, request) -> Iterator[Callable[..., Page]]:
    """Open a page in a new browser context (its own cookies); checked like every page."""
    contexts = []

    def open_(*, javascript: bool = True, **context_options) -> Page:
        context = browser.new_context(base_url=base_url, java_script_enabled=javascript,
                                      **context_options)
        contexts.append(context)
        context.set_default_timeout(10_000)
        context.add_init_script(script=AXE_SOURCE)
        page = context.new_page()
        request.node.stash.setdefault(WATCHES, []).append(watch_page(page, javascript=javascript))
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page) -> Page:
    return open_page()


@pytest.fixture
def page_without_js(open_page) -> Page:
    return open_page(javascript=False)
