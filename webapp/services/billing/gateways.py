"""Which payment gateway an installation uses, from its settings (PAYMENT_GATEWAY).

`test` (the embedded default) is the built-in test gateway; `stripe` is Stripe, with
STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY and STRIPE_WEBHOOK_SECRET, and STRIPE_API_BASE and
STRIPE_JS_URL to point it at a local fake. The web app and the worker build theirs here.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.engine import Engine

from webapp.services.billing.gateway import PaymentGateway, TestGateway
from webapp.services.billing.stripe_gateway import StripeGateway, StripeSettings

NAMES = ("test", "stripe")


def stripe_settings(settings: Mapping) -> StripeSettings:
    return StripeSettings(secret_key=settings.get("STRIPE_SECRET_KEY") or "",
                          publishable_key=settings.get("STRIPE_PUBLISHABLE_KEY") or "",
                          webhook_secret=settings.get("STRIPE_WEBHOOK_SECRET") or "",
                          api_base=settings.get("STRIPE_API_BASE") or "https://api.stripe.com",
                          js_url=settings.get("STRIPE_JS_URL") or "https://js.stripe.com/v3/")


def choose(settings: Mapping, engine: Engine) -> PaymentGateway:
    """The gateway the settings name."""
    if settings.get("PAYMENT_GATEWAY") == "stripe":
        return StripeGateway(stripe_settings(settings))
    return TestGateway(engine)
