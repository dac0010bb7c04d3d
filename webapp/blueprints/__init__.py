"""One blueprint per portal module, registered by the factory."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from webapp.blueprints import admin, auth, home

    for module in (auth, home, admin):
        app.register_blueprint(module.bp)

    from webapp import permissions
    from webapp.blueprints import preferences

    app.register_blueprint(preferences.bp)
    permissions.register(app)  # switched-off modules answer 404

    from webapp.blueprints import notifications, password

    app.register_blueprint(notifications.bp)
    app.register_blueprint(password.bp)
