"""Forgotten passwords and set-password links (invitations and resets), for people not logged in.

The link pages answer at /password/reset/<token> and /password/invite/<token>: the endpoints
webapp/services/accounts/invitations.py puts in the emails.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    render_template,
    request,
)
from wtforms import EmailField
from wtforms.validators import DataRequired, Length

from webapp.blueprints.two_factor import after_password
from webapp.context import now
from webapp.db import db
from webapp.dispatch import commit_and_dispatch
from webapp.extensions import limiter
from webapp.forms import FlaskForm, NewPasswordForm
from webapp.htmx import form_errors
from webapp.lazy_text import lazy_gettext as _l
from webapp.services.accounts import invitations, notices
from webapp.services.core.errors import InvalidInput

bp = Blueprint("password", __name__, url_prefix="/password")

PURPOSES = {p.name: p for p in (invitations.INVITATION, invitations.RESET)}
HEADING = {"invitation": _l("Set your password"), "reset": _l("Choose a new password")}
DONE = {"invitation": _l("Your password is set, and you are signed in."),
        "reset": _l("Your password has been changed, and you are signed in. Every other "
                    "session has been signed out.")}


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])


def _limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _secrets() -> dict:
    return {"secret": current_app.config["SECRET_KEY"], "now": now()}


@bp.errorhandler(invitations.InvalidLink)
def invalid_link(exc: invitations.InvalidLink):
    return render_template("password/link_invalid.html", reason=exc.reason,
                           message=exc.message), exc.status


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"])
def forgot():
    """Ask for a reset link; the answer is the same whether or not the email has a login."""
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("password/forgot.html", form=form), status
    # Only the typed address is recorded; a job mails it if it is a login's (never here).
    notices.record(db.session, kind=notices.PASSWORD_RESET,
                   email=form.email.data, now=now())
    commit_and_dispatch()
    return render_template("password/forgot_sent.html")


@bp.route("/reset/<token>", methods=["GET", "POST"], defaults={"purpose": "reset"},
          endpoint="reset")
@bp.route("/invite/<token>", methods=["GET", "POST"], defaults={"purpose": "invitation"},
          endpoint="accept_invitation")
@limiter.limit(_limit, methods=["POST"])
def set_password(token: str, purpose: str):
    """Set a password from an emailed link; a used, expired or altered link gets its own page."""
    kind = PURPOSES[purpose]
    user = invitations.user_for_token(db.session, token=token, purpose=kind, **_secrets())
    form = NewPasswordForm()
    page = {"form": form, "heading": HEADING[purpose], "email": user.email, "token": token}
    if not form.validate_on_submit():
        return render_template("password/set.html", **page), 422 if request.method == "POST" else 200
    try:
        user = invitations.set_password_with_token(
            db.session, token=token, purpose=kind, new_password=form.new_password.data,
            **_secrets())
    except InvalidInput as exc:
        form.show(exc)
        return form_errors("password/set.html", **page)
    # whoever was signed in on this browser before, it is this user now (after the code, when
    # two-factor sign-in is on: an emailed link is one factor, not two)
    return after_password(user, method=purpose, target=None, message=str(DONE[purpose]))
