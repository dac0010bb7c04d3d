"""The customer portal: create_app() builds a configured Flask app."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from jinja2 import ChoiceLoader, FileSystemLoader
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp import config as config_module
from webapp.db import db
from webapp.extensions import babel, csrf, limiter, login_manager

WEBAPP_DIR = Path(__file__).resolve().parent


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app from the environment, overridden by `test_config` in tests."""
    # PORTAL_INSTANCE_PATH moves instance/ (secret key, SQLite file) for the web app and the
    # workers alike (worker/runtime.py reads the same variable).
    instance_path = os.environ.get("PORTAL_INSTANCE_PATH")
    app = Flask(__name__, instance_relative_config=True,
                instance_path=str(Path(instance_path).resolve()) if instance_path else None)
    from webapp.templating import PortalEnvironment
    app.jinja_environment = PortalEnvironment  # before anything makes app.jinja_env
    app.config.from_mapping(config_module.from_environment(Path(app.instance_path)))
    if test_config:
        app.config.update(test_config)
    # Login limits count in the database every worker shares (webapp/limits_storage.py).
    app.config.setdefault("RATELIMIT_STORAGE_URI", "portal-db://")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)

    # Pages, partials and PDF templates share one namespace rooted at webapp/:
    # "partials/x.html" and "pages.html" resolve the same way everywhere.
    app.jinja_loader = ChoiceLoader([FileSystemLoader(WEBAPP_DIR / "templates"),
                                     FileSystemLoader(WEBAPP_DIR)])
    app.jinja_env.autoescape = True

    db.init_app(app)
    from webapp import snapshots

    snapshots.init_app(app)  # the admin home's figures snapshot: Redis or in-process
    from webapp import charging

    charging.init_app(app)  # the payment gateway: app.extensions["gateway"]
    if app.config["RATELIMIT_STORAGE_URI"].startswith("portal-db:"):
        import webapp.limits_storage  # noqa: F401  registers the portal-db:// scheme

        app.config["RATELIMIT_STORAGE_OPTIONS"] = {"engine": app.extensions["database"]}
    if app.config["TRUSTED_PROXY_HOPS"]:
        hops = app.config["TRUSTED_PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    # The words' language: the reader's own, else the organization's (webapp/languages.py).
    babel.init_app(app, locale_selector=_locale_selector,
                   default_translation_directories=str(WEBAPP_DIR / "translations"))
    from flask_babel import gettext as flask_gettext

    from webapp.languages import request_translations
    from webapp.services.core import i18n

    # Services' lazy texts and the templates' _: the request's language, looked up once.
    i18n.set_provider(request_translations)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    # Flashed when a page needs a sign-in: translated then, in the visitor's language.
    login_manager.login_message = i18n.N_("Please log in to continue.")
    login_manager.localize_callback = flask_gettext
    login_manager.session_protection = "strong"
    limiter.init_app(app)

    from webapp import context, errors, inputs, languages, login, security, templating
    from webapp.blueprints import register_blueprints

    inputs.register(app)
    templating.register(app)
    security.register(app)
    login.register(app)
    context.register(app)  # the request facts: after the login glue, before any guard
    errors.register(app)
    languages.register(app)
    register_blueprints(app)

    from webapp import cli

    cli.register(app)
    return app


def _locale_selector():
    from webapp.languages import babel_locale

    return babel_locale()
