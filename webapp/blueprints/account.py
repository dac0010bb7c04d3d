"""Account & security, for every signed-in user (customer or admin), outside the module
switches: change the password, see the signed-in devices and sign them out."""

from __future__ import annotations

from flask import Blueprint, redirect, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from wtforms import PasswordField
from wtforms.validators import DataRequired

from webapp.context import now
from webapp.db import db
from webapp.forms import NewPasswordForm
from webapp.htmx import finish, form_errors, render_page, swap_or_redirect
from webapp.permissions import current_preferences
from webapp.services.accounts import auth
from webapp.services.accounts import sessions as account_sessions
from webapp.services.core.errors import InvalidInput

bp = Blueprint("account", __name__, url_prefix="/account")


class ChangePasswordForm(NewPasswordForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])


def _sessions() -> tuple[account_sessions.SessionView, ...]:
    return account_sessions.live_sessions(
        db.session, user_id=current_user.user_id,
        limits=account_sessions.Limits.of(current_preferences()), now=now(),
        current_session_id=current_user.session_id)


def _page(form: ChangePasswordForm | None = None, **context) -> dict:
    return {"form": form or ChangePasswordForm(formdata=None), "sessions": _sessions(),
            **context}


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
    login_user(current_user)
    return finish(url_for(".show"),
                  "Your password has been changed. Other sessions have been signed out.")


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
                            message="That device has been signed out.",
                            redirect_to=url_for(".show"))


@bp.post("/sessions/end-others")
@login_required
def end_other_sessions():
    """Sign out every device but this one."""
    ended = account_sessions.end_all(db.session, user_id=current_user.user_id,
                                     reason="others_signed_out", now=now(),
                                     keep_session_id=current_user.session_id)
    db.session.commit()
    message = ("Every other device has been signed out." if ended
               else "No other device was signed in.")
    return swap_or_redirect("account_sessions", sessions=_sessions(),
                            message=message,
                            redirect_to=url_for(".show"))


def _logged_out():
    logout_user()
    session.clear()
    return finish(url_for("auth.login"), "You have logged out.")
