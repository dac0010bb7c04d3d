"""Account & security, for every signed-in user (customer or admin), outside the module
switches: change the password, see the signed-in devices and sign them out."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, redirect, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from webapp.context import now
from webapp.db import db
from webapp.forms import FlaskForm, NewPasswordForm
from webapp.htmx import finish, form_errors, render_page, swap_or_redirect
from webapp.lazy_text import lazy_gettext as _l
from webapp.permissions import current_preferences
from webapp.services.accounts import auth, two_factor
from webapp.services.accounts import sessions as account_sessions
from webapp.services.admin import portal
from webapp.services.core.errors import InvalidInput

bp = Blueprint("account", __name__, url_prefix="/account")


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])


def _sessions() -> tuple[account_sessions.SessionView, ...]:
    return account_sessions.live_sessions(
        db.session, user_id=current_user.user_id,
        limits=account_sessions.Limits.of(current_preferences()), now=now(),
        current_session_id=current_user.session_id)


class PasswordCodeForm(FlaskForm):
    """What turning two-factor sign-in off, or new recovery codes, asks for."""

    password = PasswordField(_l("Password"), validators=[
        DataRequired(message=_l("Enter your password.")), Length(max=200)])
    code = StringField(_l("Code from the app"), validators=[
        DataRequired(message=_l("Enter the code.")), Length(max=32)])


@dataclass(frozen=True)
class TwoFactorState:
    on: bool
    allowed: bool  # the policy is not off
    required: bool  # the policy requires it of this user
    codes_left: int


def page_context(form: ChangePasswordForm | None = None, *, codes_form=None, off_form=None,
                 **context) -> dict:
    """Everything Account & security shows (the two-factor forms come from its blueprint)."""
    policy = current_preferences().two_factor_policy
    on = current_user.two_factor_on
    state = TwoFactorState(
        on, two_factor.allowed(policy), two_factor.required(policy, role=current_user.role),
        two_factor.recovery_codes_left(db.session, current_user.user_id) if on else 0)
    admins = (portal.admin_logins(db.session, you=current_user.user_id)
              if current_user.is_admin else ())
    return {"form": form or ChangePasswordForm(formdata=None), "sessions": _sessions(),
            "two_factor": state, "admins": admins,
            "codes_form": codes_form or PasswordCodeForm(prefix="codes", formdata=None),
            "off_form": off_form or PasswordCodeForm(prefix="off", formdata=None), **context}


_page = page_context


@bp.get("")
@login_required
def show():
    """The Account & security page."""
    return render_page("account/show.html", None, **_page())


@bp.get("/password")
@login_required
def password_moved():
    """Change Password lives on Account & security now; old links and bookmarks land there."""
    return redirect(url_for(".show"), 301)


@bp.post("/password")
@login_required
def change_password():
    """Change the password; every other session of this user ends."""
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return form_errors("account/show.html", "account_password", **_page(form))
    try:
        result = auth.change_password(
            db.session, user_id=current_user.user_id,
            current_password=form.current_password.data, new_password=form.new_password.data,
            current_session_id=current_user.session_id, now=now())
    except InvalidInput as exc:
        form.show(exc)
        return form_errors("account/show.html", "account_password", **_page(form))
    db.session.commit()
    # This browser goes on under the new session version; the others no longer load.
    current_user.session_version = result.session_version
    # The user itself, not the proxy: Flask-Login keeps what it is given as this request's
    # user, and a proxy kept there would look itself up for ever (the words' language asks
    # for the user's locale as soon as the message below is translated).
    login_user(current_user._get_current_object())
    return finish(url_for(".show"),
                  _("Your password has been changed. Other sessions have been signed out."))


@bp.post("/sessions/<int:session_id>/end")
@login_required
def end_session(session_id: int):
    """Sign out one of my devices (CSRFProtect checks every POST); signing out this one is
    logging out."""
    account_sessions.end_one(db.session, user_id=current_user.user_id, session_id=session_id,
                             reason="logout" if session_id == current_user.session_id
                             else "signed_out", now=now())
    db.session.commit()
    if session_id == current_user.session_id:
        return _logged_out()
    return swap_or_redirect("account_sessions", sessions=_sessions(),
                            message=_("That device has been signed out."),
                            redirect_to=url_for(".show"))


@bp.post("/sessions/end-others")
@login_required
def end_other_sessions():
    """Sign out every device but this one."""
    ended = account_sessions.end_all(db.session, user_id=current_user.user_id,
                                     reason="others_signed_out", now=now(),
                                     keep_session_id=current_user.session_id)
    two_factor.revoke_devices(db.session, user_id=current_user.user_id, now=now())
    db.session.commit()
    message = (_("Every other device has been signed out.") if ended
               else _("No other device was signed in."))
    return swap_or_redirect("account_sessions", sessions=_sessions(),
                            message=message,
                            redirect_to=url_for(".show"))


def _logged_out():
    logout_user()
    session.clear()
    return finish(url_for("auth.login"), _("You have logged out."))
