"""The payment gateway the app provides, and charging a payment a person is waiting for.

`create_app` puts the gateway in `app.extensions["gateway"]` (`init_app`); blueprints take it
from there (`gateway()`), never from the worker, which builds its own (worker/runtime.py).
"""

from __future__ import annotations

from functools import wraps

from flask import Flask, current_app, g

from webapp import context
from webapp.db import db
from webapp.dispatch import commit_and_dispatch
from webapp.services.billing import charges, gateways, stripe_gateway
from webapp.services.billing.gateway import PaymentGateway
from webapp.units import unit_of_work

EXTENSION = "gateway"


def init_app(app: Flask) -> None:
    """The gateway PAYMENT_GATEWAY names (the built-in test gateway by default) and, for
    Stripe, what its pages add to the CSP and hand to Stripe.js."""
    app.extensions[EXTENSION] = gateways.choose(app.config, app.extensions["database"])
    if app.config["PAYMENT_GATEWAY"] == "stripe":
        settings = gateways.stripe_settings(app.config)
        app.extensions["card_page_csp"] = stripe_gateway.csp_sources(settings)

        @app.context_processor
        def stripe_page_settings() -> dict:
            return {"stripe_js_url": settings.js_url,
                    "stripe_publishable_key": settings.publishable_key}


def takes_card(view):
    """Mark a page that may load Stripe.js (adding a card, paying, 3-D Secure): only these
    pages load the processor's script, and only their CSP lets it in."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        g.takes_card = True
        return view(*args, **kwargs)
    return wrapped


def card_page_csp() -> dict[str, tuple[str, ...]] | None:
    """The sources this response's CSP adds for Stripe.js, or None on every other page."""
    if not g.get("takes_card"):
        return None
    return current_app.extensions.get("card_page_csp")


def collects_cards_in_browser() -> bool:
    return gateway().collects_cards_in_browser


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
