"""What jobs need: settings, an engine and the payment gateway.

Settings and engine come from webapp/runtime.py: inside a Flask app context (a job run
in-process on the embedded default, or by `flask --app webapp cron`) they are the app's own;
in an RQ worker they are read from the environment, made lazily, once per process. The
gateway likewise: the app's (`app.extensions["gateway"]`, webapp/charging.py) inside its
context, else the worker builds its own on its engine.
"""

from __future__ import annotations

from functools import cache

from flask import current_app, has_app_context

from webapp.runtime import INSTANCE_PATH, engine, settings
from webapp.services.billing import gateways
from webapp.services.billing.gateway import PaymentGateway

__all__ = ["INSTANCE_PATH", "engine", "gateway", "settings"]


def gateway() -> PaymentGateway:
    """The payment gateway: the app's inside its context, else the worker's own."""
    if has_app_context():
        return current_app.extensions["gateway"]
    return _worker_gateway()


@cache
def _worker_gateway() -> PaymentGateway:
    """The gateway the settings name (PAYMENT_GATEWAY), on the worker's engine."""
    return gateways.choose(settings(), engine())
