"""Choosing between a full page and the fragment htmx asked for."""

from __future__ import annotations

from flask import flash, redirect, render_template, request
from flask.typing import ResponseReturnValue

from webapp.context import say
from webapp.services.core.dates import Dated


def is_htmx() -> bool:
    """True for an htmx request that is not a history restore."""
    return request.headers.get("HX-Request") == "true" and \
        request.headers.get("HX-History-Restore-Request") != "true"


def partial_name(partial: str) -> str:
    return f"partials/{partial}.html"


def render_page(template: str, partial: str | None = None, /, *, status: int = 200,
                **context) -> ResponseReturnValue:
    """The page, or only `partial` for htmx; either way the response varies by HX-Request.
    `status` 422 re-renders a refused form (as `form_errors`), 409 a refused action."""
    if partial and is_htmx():
        body = render_template(partial_name(partial), **context)
    else:
        body = render_template(template, **context)
    return body, status, {"Vary": "HX-Request"}


def swap_or_redirect(partial: str, /, *, redirect_to: str, message: Dated | str | None = None,
                     **context) -> ResponseReturnValue:
    """After a POST: the swapped fragment for htmx, else a flash and a redirect."""
    message = say(message)
    if is_htmx():
        return render_template(partial_name(partial), message=message, **context), 200, \
            {"Vary": "HX-Request"}
    if message:
        flash(message, "success")
    return redirect(redirect_to, 303)


def form_errors(template: str, partial: str | None = None, /, **context) -> ResponseReturnValue:
    """Re-render a form with its messages next to the fields (422), kept input and all."""
    return render_page(template, partial, status=422, **context)


def finish(target: str, message: Dated | str | None = None, category: str = "success",
           ) -> ResponseReturnValue:
    """The end of a flow: go to `target` with the message flashed there. A browser is
    redirected (303); htmx is told to navigate (HX-Redirect) rather than to swap the page
    it would fetch. Either way the response varies by HX-Request. A service's Dated message
    is formatted here, its dates as the pages show them (`context.say`)."""
    message = say(message)
    if message:
        flash(message, category)
    if is_htmx():
        return "", 200, {"HX-Redirect": target, "Vary": "HX-Request"}
    response = redirect(target, 303)
    response.headers["Vary"] = "HX-Request"
    return response
