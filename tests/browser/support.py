"""Helpers for browser tests: open pages, log in, and check every page a test sees.

Each page the fixtures open has a PageWatch. It records Content Security Policy violations and
JavaScript errors from the console, and counts the page's main-frame navigations. `visit`,
`click_through` and `login` check the page they arrive on with axe-core (serious and critical
violations fail the test). A page reached some other way (an htmx swap that pushes a URL, a
redirect a test waits for itself) is checked with `check_page(page)`; a page left behind
unchecked fails the test when it ends, and the page a test ends on is checked then.

axe is added as an init script (CDP, outside the page's CSP), so the context keeps the real
CSP and a violation in the app's own markup still reaches the console. With JavaScript off the
init script still runs (Playwright's evaluate does too), so those pages are checked as well.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from playwright.sync_api import Frame, Locator, Page

AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe-4.14.1.min.js").read_text()
FAILING_IMPACTS = ("serious", "critical")

# With JavaScript off chromium runs no timers, and axe waits on setTimeout. The page's own
# scripts never ran, so during the check setTimeout becomes a microtask; CSSOM preloading
# (which races a timer) is off there and covered by the same stylesheets on pages with JS on.
_RUN_AXE = """async (timers) => {
  const saved = [window.setTimeout, window.clearTimeout];
  if (!timers) {
    window.setTimeout = (fn, ms, ...args) => { Promise.resolve().then(() => fn(...args)); return 0; };
    window.clearTimeout = () => {};
  }
  try {
    const result = await axe.run(document, {resultTypes: ["violations"], preload: timers});
    return result.violations.map(v => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + "  " + n.html.slice(0, 160)),
    }));
  } finally {
    [window.setTimeout, window.clearTimeout] = saved;
  }
}"""


@dataclass(eq=False)
class PageWatch:
    """What happened on one page that should fail a test."""

    page: Page
    javascript: bool
    console: list[str] = field(default_factory=list)  # every message, for a failing test
    csp_violations: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    unchecked_urls: list[str] = field(default_factory=list)
    navigations: int = 0  # main-frame documents (and pushed URLs) seen
    checked: int = 0  # the navigation count at the last axe check
    current_url: str = "about:blank"

    def attach(self) -> None:
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        self.page.on("framenavigated", self._navigated)

    def _console(self, message) -> None:
        self.console.append(f"{message.type}: {message.text}")
        if message.type == "error" and "Content Security Policy" in message.text:
            self.csp_violations.append(f"{self.page.url}: {message.text}")

    def _navigated(self, frame: Frame) -> None:
        if frame != self.page.main_frame or frame.url == "about:blank":
            return
        if frame.url == self.current_url and self.checked == self.navigations:
            return  # htmx replaces the checked page's own history entry before a push
        if self.checked < self.navigations:
            self.unchecked_urls.append(self.current_url)
        self.navigations += 1
        self.current_url = frame.url

    def assert_clean(self) -> None:
        """No CSP violation and no JavaScript error so far."""
        problems = ([f"CSP violation: {v}" for v in self.csp_violations]
                    + [f"JavaScript error: {e}" for e in self.page_errors])
        assert not problems, "\n".join(problems)

    def finish(self) -> None:
        """At the end of a test: check the last page, then fail on anything left over."""
        if not self.page.is_closed() and self.checked < self.navigations:
            check_page(self.page)
        assert not self.unchecked_urls, (
            "pages were left without an accessibility check (use visit/click_through, or "
            f"check_page after a navigation): {self.unchecked_urls}")
        self.assert_clean()


# Pages are looked up by the helpers below; weak keys, so a closed context frees its watches.
_watches: weakref.WeakKeyDictionary[Page, PageWatch] = weakref.WeakKeyDictionary()


def watch_page(page: Page, *, javascript: bool) -> PageWatch:
    watch = PageWatch(page, javascript)
    watch.attach()
    _watches[page] = watch
    return watch


def watch_of(page: Page) -> PageWatch:
    return _watches[page]


def check_page(page: Page) -> None:
    """Run axe on the current page; fail on serious or critical violations, CSP or JS errors."""
    watch = watch_of(page)
    page.wait_for_load_state("load")
    violations = [v for v in page.evaluate(_RUN_AXE, watch.javascript)
                  if v["impact"] in FAILING_IMPACTS]
    watch.checked = watch.navigations
    watch.assert_clean()
    assert not violations, f"accessibility violations on {page.url}:\n" + "\n".join(
        f"- [{v['impact']}] {v['id']}: {v['help']}\n    " + "\n    ".join(v["nodes"])
        for v in violations)


def path_of(page: Page) -> str:
    return urlparse(page.url).path


def visit(page: Page, path: str, *, status: int = 200):
    """Open a path (relative to the server), expect its status, and check the page."""
    response = page.goto(path)
    assert response is not None and response.status == status, (
        f"GET {path} answered {response.status if response else None}, expected {status}")
    check_page(page)
    return response


def click_through(page: Page, target: Locator) -> None:
    """Click a link or submit button that loads a new page, wait for it, and check it."""
    with page.expect_navigation():
        target.click()
    check_page(page)


def login(page: Page, email: str, password: str) -> None:
    """Log in through the login form; fails with the page's message if it does not work."""
    visit(page, "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    click_through(page, page.get_by_role("button", name="Log in"))
    if path_of(page) == "/login":
        message = " ".join(page.locator("[role=alert], .field-error").all_inner_texts())
        raise AssertionError(f"login as {email} failed: {message or 'no message shown'}")


def logout(page: Page) -> None:
    click_through(page, page.get_by_role("button", name="Log out"))
