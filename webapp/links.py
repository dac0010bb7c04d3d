"""Links in mail: an outbox row keeps the page it links to as an endpoint and its values
(`"page": outbox.page("invoices.detail", invoice_id=7)`), and the sender builds the URL when it sends,
from the app's URL map and BASE_URL: a page that moves moves its links too, even in mail that
is queued. (Rows written before kept a "path"; they are sent as they are.)

`paths()` is what the senders (worker/jobs.py) hand to `outbox.send`: inside an app context
the current app's URL map; in an RQ worker that of an app made once for the process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from flask import Flask, current_app, has_app_context

Paths = Callable[[str, Mapping[str, Any]], str]


def paths() -> Paths:
    """endpoint, values -> the page's path ("/invoices/7"), to go after BASE_URL."""
    app = current_app._get_current_object() if has_app_context() else _worker_app()
    return _builder(app)


def _builder(app: Flask) -> Paths:
    adapter = app.url_map.bind("portal.invalid", script_name="/")

    def build(endpoint: str, values: Mapping[str, Any]) -> str:
        return adapter.build(endpoint, dict(values))
    return build


def page_urls() -> Callable[[str, Mapping[str, Any]], str]:
    """endpoint, values -> the page's absolute URL from BASE_URL, for links inside documents
    (an invoice's "Pay online"), which may be rendered in a worker, with no request."""
    app = current_app._get_current_object() if has_app_context() else _worker_app()
    base_url, build = app.config["BASE_URL"].rstrip("/"), _builder(app)

    def page_url(endpoint: str, values: Mapping[str, Any]) -> str:
        return base_url + build(endpoint, values)
    return page_url


@cache
def _worker_app() -> Flask:
    """The app, for its URL map only, in a process that has none (an RQ worker)."""
    from webapp import create_app

    return create_app()
