"""Log in and log out; each sign-in is a session row the server can end."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, logout_user
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from webapp.blueprints.two_factor import after_password
from webapp.context import now
from webapp.db import db
from webapp.dispatch import commit_and_dispatch
from webapp.extensions import limiter
from webapp.forms import FlaskForm
from webapp.htmx import finish
from webapp.lazy_text import lazy_gettext as _l
from webapp.login import PortalUser, remember_device, trusted_device
from webapp.services.accounts import auth, sessions, throttle

bp = Blueprint("auth", __name__)

LOGIN_FAILED = _l("The email or password is not correct.")


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _home_for(user: PortalUser) -> str:
    return url_for("admin.index") if user.is_admin else url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    """Show the login form; on POST, log in or give the one answer for any failure."""
    if current_user.is_authenticated:
        return redirect(_home_for(current_user))
    form = LoginForm()
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("auth/login.html", form=form), status
    account = throttle.key_for(form.email.data)
    tried = throttle.attempt(db.session, email=form.email.data,
                             password=form.password.data,
                             trusted_device=trusted_device(account), now=now())
    if tried.user is None:
        commit_and_dispatch()  # the failure counts, whatever the answer
        # Unknown email and wrong password get exactly the same answers.
        if tried.wait:
            minutes = -(-int(tried.wait.total_seconds()) // 60)
            failure = ngettext("Too many wrong passwords for this account. Try again in "
                               "%(num)d minute, or reset your password.",
                               "Too many wrong passwords for this account. Try again in "
                               "%(num)d minutes, or reset your password.", minutes)
            return render_template("auth/login.html", form=form, failure=failure), 429
        return render_template("auth/login.html", form=form, failure=LOGIN_FAILED), 422
    next_url = auth.safe_next(request.args.get("next"))
    response = after_password(tried.user, method=sessions.PASSWORD, target=next_url,
                              new_device=not trusted_device(account))
    return remember_device(response, account)


@bp.post("/logout")
@login_required
def logout():
    """End this session, on the server too: a copy of the cookie opens nothing after it."""
    sessions.end_by_token(db.session, user_id=current_user.user_id,
                          token=current_user.session_token, reason="logout",
                          now=now())
    db.session.commit()
    logout_user()
    session.clear()
    return finish(url_for(".login"), _("You have logged out."))
