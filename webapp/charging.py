"""The payment gateway the app provides, and charging a payment a person is waiting for.

`create_app` puts the gateway in `app.extensions["gateway"]` (`init_app`); blueprints take it
from there (`gateway()`), never from the worker, which builds its own (worker/runtime.py).
"""

from __future__ import annotations

from flask import Flask, current_app

from webapp import context
from webapp.db import db
from webapp.dispatch import commit_and_dispatch
from webapp.services.billing import charges
from webapp.services.billing.gateway import PaymentGateway, TestGateway
from webapp.units import unit_of_work

EXTENSION = "gateway"


def init_app(app: Flask) -> None:
    """The built-in test gateway (the only one shipped so far) on the app's engine."""
    app.extensions[EXTENSION] = TestGateway(app.extensions["database"])


def gateway() -> PaymentGateway:
    """The current app's payment gateway."""
    return current_app.extensions[EXTENSION]


def charge_now(payment_id: int) -> charges.Outcome | None:
    """Commit, close, charge: commit the request's work (dispatching what it wrote), close
    its session so that no transaction of ours stays open while the gateway works, then
    charge the payment in units of work of its own (`charges.charge_now`).

    The outcome, or None while the payment is still pending (being charged by another
    request, or the gateway is still silent: the sweep settles it)."""
    commit_and_dispatch()
    db.session.close()
    return charges.charge_now(unit_of_work, gateway(), payment_id=payment_id, now=context.now())
