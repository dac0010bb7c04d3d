"""Where errors become responses: portal error pages, and domain errors for htmx or forms."""

from __future__ import annotations

from flask import Flask, flash, redirect, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from webapp.context import say
from webapp.htmx import is_htmx
from webapp.services.core.errors import DomainError, NotFound


def _page(status: int, title: str, message: str):
    return render_template("error.html", status=status, title=title, message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(404)
    def not_found(_exc):
        return _page(404, _("Page not found"), _("There is nothing at this address."))

    @app.errorhandler(NotFound)
    def domain_not_found(_exc):
        return not_found(_exc)

    @app.errorhandler(CSRFError)
    def csrf_failed(exc: CSRFError):
        return _page(400, _("Form expired"), _("The form was out of date or incomplete. "
                                               "Go back, reload the page and try again."))

    @app.errorhandler(413)
    def too_large(_exc):
        return _page(413, _("Too large"), _("What you sent is larger than the portal accepts."))

    @app.errorhandler(429)
    def too_many(_exc):
        return _page(429, _("Too many attempts"), _("Too many attempts in a short time. "
                                                    "Wait a minute, then try again."))

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        """A refused action: htmx gets the message fragment (409), forms a flash + redirect.
        The message is written in the request's language (a lazy `i18n._` text turned into
        str), one naming a date (a `Dated`) with its dates in the request's locale."""
        message = say(exc.message)
        if is_htmx():
            return render_template("partials/flash_message.html", message=message,
                                   category="error"), exc.status
        if not request.referrer:  # nowhere to go back to: say it on a page of its own
            return _page(exc.status, _("This can't be done right now"), message)
        flash(message, "error")
        return redirect(request.referrer, 303)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return _page(exc.code or 500, exc.name, exc.description or "")

    @app.errorhandler(500)
    def server_error(_exc):
        return _page(500, _("Something went wrong"), _("The portal could not finish this "
                                                       "request. It has been logged; please "
                                                       "try again in a moment."))
