"""The portal as the bench serves it: the real app plus the bare floor routes (bench/routes.py).

`gunicorn "bench.wsgi:create_app()"`; the portal's own factory never registers the floors.
"""

from __future__ import annotations

from flask import Flask

import webapp
from bench import routes


def create_app(config: dict | None = None) -> Flask:
    app = webapp.create_app(config)
    app.register_blueprint(routes.bp)
    return app
