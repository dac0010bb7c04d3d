"""Configuration read from the environment.

The embedded default (no DATABASE_URL, no REDIS_URL) runs on a SQLite file in instance/, runs
jobs in-process and prints mail to the console. Production (PORTAL_ENV=production) requires
SECRET_KEY and turns on Secure cookies.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


class ConfigError(RuntimeError):
    """The environment does not describe a runnable portal."""


def _instance_secret(instance_path: Path) -> str:
    """Generate a SECRET_KEY once and keep it in instance/ (embedded default only)."""
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def from_environment(instance_path: Path, env: dict[str, str] | None = None) -> dict:
    """Build the Flask config mapping from environment variables."""
    env = dict(os.environ if env is None else env)
    production = env.get("PORTAL_ENV", "development") == "production"
    secret = env.get("SECRET_KEY")
    if not secret:
        if production:
            raise ConfigError("SECRET_KEY must be set when PORTAL_ENV=production.")
        secret = _instance_secret(instance_path)
    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'portal.db'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgres://")
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    return {
        "PORTAL_ENV": "production" if production else "development",
        "SECRET_KEY": secret,
        "DATABASE_URL": database_url,
        "REDIS_URL": env.get("REDIS_URL") or None,
        "SMTP_HOST": env.get("SMTP_HOST") or None,
        "SMTP_PORT": int(env.get("SMTP_PORT") or 25),
        "SMTP_USERNAME": env.get("SMTP_USERNAME") or None,
        "SMTP_PASSWORD": env.get("SMTP_PASSWORD") or None,
        "SMTP_STARTTLS": _bool(env.get("SMTP_STARTTLS"), False),
        "SMTP_SSL": _bool(env.get("SMTP_SSL"), False),
        "MAIL_FROM": env.get("MAIL_FROM") or "portal@localhost",
        # How long a sender holds an outbox row before the sweep may hand it to another.
        "OUTBOX_LEASE_SECONDS": int(env.get("OUTBOX_LEASE_SECONDS") or 300),
        "BASE_URL": env.get("BASE_URL") or "http://127.0.0.1:5000",
        # Webhook signing secrets are encrypted with a key derived from this, else from
        # SECRET_KEY (services/webhooks/keys.py); changing it means rotating every secret.
        "WEBHOOK_ENCRYPTION_KEY": env.get("WEBHOOK_ENCRYPTION_KEY") or None,
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH") or 6 * 1024 * 1024),
        # The largest amount a form accepts, in whole units of any currency (issue 21).
        "MONEY_INPUT_MAX": int(env.get("MONEY_INPUT_MAX") or 1_000_000),
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT") or "10 per minute;50 per hour",
        # How many proxies in front set X-Forwarded-For/-Proto/-Host (werkzeug's ProxyFix):
        # 0 trusts none, so a client cannot choose the address its limits count against.
        "TRUSTED_PROXY_HOPS": int(env.get("TRUSTED_PROXY_HOPS") or 0),
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        "WTF_CSRF_TIME_LIMIT": None,
        "FIXED_NOW": None,
        **_gateway(env),
    }


def _gateway(env: dict[str, str]) -> dict:
    """PAYMENT_GATEWAY (test, the default, or stripe) and Stripe's settings. Only the keys'
    format and mode are checked here: Stripe is never called at start-up."""
    from webapp.services.billing import gateways, stripe_gateway

    name = (env.get("PAYMENT_GATEWAY") or "test").strip().lower()
    if name not in gateways.NAMES:
        raise ConfigError(f"PAYMENT_GATEWAY must be one of {', '.join(gateways.NAMES)}.")
    values = {"PAYMENT_GATEWAY": name, **{key: env.get(key) or None for key in (
        "STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET",
        "STRIPE_API_BASE", "STRIPE_JS_URL")}}
    if name == "stripe":
        try:
            stripe_gateway.check_settings(gateways.stripe_settings(values))
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
    return values
