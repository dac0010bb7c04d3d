"""Log in, log out and change password."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length, ValidationError

from webapp import clock
from webapp.db import db
from webapp.extensions import limiter
from webapp.forms import FlaskForm
from webapp.htmx import form_errors
from webapp.login import PortalUser
from webapp.services import auth
from webapp.services.errors import InvalidInput

bp = Blueprint("auth", __name__)

LOGIN_FAILED = "The email or password is not correct."


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField("New password", validators=[
        DataRequired(), Length(min=auth.MIN_PASSWORD_LENGTH, max=200,
                               message="Use at least %(min)d characters.")])
    confirm_password = PasswordField("Confirm new password", validators=[DataRequired()])

    def validate_confirm_password(self, field) -> None:
        if field.data != self.new_password.data:
            raise ValidationError("The two new passwords do not match.")


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _home_for(user: PortalUser) -> str:
    return url_for("admin.index") if user.is_admin else url_for("home.index")


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths are followed after login."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None


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
    user = auth.authenticate(db.session, email=form.email.data, password=form.password.data,
                             now=clock.now())
    if user is None:
        # Unknown email and wrong password get exactly the same answer.
        return render_template("auth/login.html", form=form, failure=LOGIN_FAILED), 422
    db.session.commit()
    next_url = _safe_next(request.args.get("next"))
    session.clear()  # a fresh session at login: nothing carried over from before
    portal_user = PortalUser(user)
    login_user(portal_user)
    return redirect(next_url or _home_for(portal_user), 303)


@bp.post("/logout")
@login_required
def logout():
    """End this session."""
    logout_user()
    session.clear()
    flash("You have logged out.", "success")
    return redirect(url_for(".login"), 303)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change the password; every other session of this user ends."""
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("auth/change_password.html", form=form), status
    try:
        result = auth.change_password(
            db.session, user_id=current_user.user_id,
            current_password=form.current_password.data,
            new_password=form.new_password.data, now=clock.now())
    except InvalidInput as exc:
        getattr(form, exc.field or "new_password").errors.append(exc.message)
        return form_errors("auth/change_password.html", form=form)
    db.session.commit()
    # Keep this session alive under the new session version; the others no longer load.
    current_user.session_version = result.session_version
    login_user(current_user)
    flash("Your password has been changed. Other sessions have been logged out.", "success")
    return redirect(url_for(".change_password"), 303)
