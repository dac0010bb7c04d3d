"""The footer's language switcher: POST /language (CSRF-checked like every form), no
JavaScript needed. The choice is kept where the reader's language is read from
(webapp/languages.py): a customer's locale, an admin's own locale, a visitor's cookie; then
the reader goes back to the page they were on."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp import languages
from webapp.context import current_org, now
from webapp.db import db
from webapp.dispatch import commit_and_dispatch
from webapp.htmx import finish
from webapp.services.accounts import auth
from webapp.services.accounts import language as choice
from webapp.services.core.errors import InvalidInput

bp = Blueprint("language", __name__)


@bp.post("/language")
def choose():
    """Save the chosen language, then back to `next` (a path of this site), else to the page
    the form was sent from, else home. An unknown language: 400, nothing changed."""
    try:
        language = choice.check(request.form.get("language"))
    except InvalidInput:
        return render_template("error.html", status=400, title=_("Language not available"),
                               message=_("Choose one of the languages offered.")), 400
    if current_user.is_authenticated:
        _keep(language)
    response = make_response(finish(_back()))
    return languages.remember(response, language)


def _keep(language: str) -> None:
    """On the signed-in reader's row: a customer's locale, an admin's own."""
    org = current_org()
    org_locale = org.locale if org else None
    if current_user.is_admin:
        changed = choice.choose_for_admin(
            db.session, user_id=current_user.user_id, language=language, org_locale=org_locale)
    elif current_user.customer_id is not None:
        changed = choice.choose_for_customer(
            db.session, customer_id=current_user.customer_id, language=language,
            org_locale=org_locale, user_id=current_user.user_id, actor=current_user.email,
            now=now())
    else:
        return
    if changed:
        commit_and_dispatch()


def _back() -> str:
    """Where the reader was: the form's `next`, else the Referer's path when it is this
    site's, else home."""
    target = auth.safe_next(request.form.get("next"))
    if target is None and request.referrer:
        referrer = urlsplit(request.referrer)
        if referrer.netloc == request.host:
            target = auth.safe_next(referrer.path + (f"?{referrer.query}" if referrer.query
                                                     else ""))
    return target or url_for("home.index")
