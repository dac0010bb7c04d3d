"""Two-factor sign-in (services/accounts/two_factor.py): the code step after the password,
and setting it up, regenerating recovery codes and turning it off on Account & security.

Between the password and the code, the browser holds only a short-lived note in the signed
Flask session (who, which session version, where to go next, how many wrong codes): nobody
is signed in until the code is right. A remembered browser carries a signed list of device
tokens (TRUSTED_COOKIE); the server keeps their hashes and can revoke them.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from itsdangerous import BadSignature, URLSafeTimedSerializer
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length

from webapp.blueprints.account import PasswordCodeForm, page_context
from webapp.blueprints.admin_forms import actor
from webapp.context import now
from webapp.db import db
from webapp.dispatch import commit_and_dispatch
from webapp.extensions import limiter
from webapp.forms import FlaskForm
from webapp.htmx import finish, form_errors, render_page, swap_or_redirect
from webapp.lazy_text import lazy_gettext as _l
from webapp.login import admin_required, sign_in
from webapp.models import User
from webapp.permissions import current_preferences
from webapp.services.accounts import invitations, two_factor
from webapp.services.admin import portal
from webapp.services.core.errors import InvalidInput

bp = Blueprint("two_factor", __name__)

PENDING = "two_factor_pending"
PENDING_FOR = 600  # seconds between the password and the code
MAX_WRONG_CODES = 5
TRUSTED_COOKIE = "portal_2fa_devices"
_TRUSTED_KEEP = 5
TOO_MANY = _l("Too many wrong codes. Sign in with your password again.")
EXPIRED = _l("That sign-in took too long. Sign in with your password again.")
# Where a user who must set up two-factor sign-in may still go before they have.
SETUP_ALLOWED = frozenset({"two_factor.setup", "two_factor.confirm", "two_factor.download_codes",
                           "auth.logout", "static"})
# ...and what every page loads: the brand's stylesheet and icons (public files).


class CodeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(message=_l("Enter the code.")),
                                               Length(max=32)])
    remember = BooleanField(_l("Remember this device for 30 days"))


class ConfirmForm(FlaskForm):
    code = StringField(_l("Code from the app"), validators=[
        DataRequired(message=_l("Enter the code.")), Length(max=32)])


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _home(user) -> str:
    return url_for("admin.index") if user.role == "admin" else url_for("home.index")


# -- Remembered devices --------------------------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="portal.two-factor")


def _trusted_tokens() -> list[str]:
    raw = request.cookies.get(TRUSTED_COOKIE)
    if not raw:
        return []
    try:
        tokens = _serializer().loads(
            raw, max_age=int(two_factor.REMEMBER_FOR.total_seconds()))
    except BadSignature:
        return []
    return [t for t in tokens if isinstance(t, str)][:_TRUSTED_KEEP] if isinstance(tokens, list) \
        else []


def _remembered(user: User) -> bool:
    return two_factor.is_trusted(db.session, user_id=user.id, token=_trusted_tokens(),
                                 now=now())


def _remember(response: Response, token: str) -> Response:
    tokens = [*_trusted_tokens()[-(_TRUSTED_KEEP - 1):], token]
    response.set_cookie(TRUSTED_COOKIE, _serializer().dumps(tokens),
                        max_age=int(two_factor.REMEMBER_FOR.total_seconds()), httponly=True,
                        samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


# -- After the password --------------------------------------------------------------------------

def after_password(user: User, *, method: str, target: str | None,
                   message: str | None = None, new_device: bool = False):
    """A correct password (typed, or set from an emailed link): sign in, or, with two-factor
    sign-in on and this browser not remembered, ask for the code first. The caller has not
    committed; this commits."""
    session.clear()  # a fresh session: nothing carried over from before
    if two_factor.is_on(user) and not _remembered(user):
        session[PENDING] = {"user": user.id, "version": user.session_version,
                            "at": int(now().timestamp()), "next": target, "method": method,
                            "message": message, "new_device": new_device, "wrong": 0}
        db.session.commit()  # last_login_at, a used link
        return redirect(url_for("two_factor.code"), 303)
    portal_user = sign_in(user, method=method)
    _new_device_notice(user, new_device)
    commit_and_dispatch()
    return finish(target or _home(portal_user), message) if message else \
        redirect(target or _home(portal_user), 303)


def _new_device_notice(user: User, new_device: bool) -> None:
    if new_device and current_preferences().two_factor_new_device_email:
        two_factor.new_device_notice(
            db.session, user=user, ip=request.remote_addr or "", now=now(),
            device=two_factor.sessions.describe_device(request.headers.get("User-Agent")))


def _pending() -> tuple[dict, User] | None:
    note = session.get(PENDING)
    if not isinstance(note, dict):
        return None
    user = db.session.get(User, note.get("user"))
    if (user is None or not user.is_active or user.session_version != note.get("version")
            or not two_factor.is_on(user)):
        return None
    return note, user


def _restart(message: str):
    session.pop(PENDING, None)
    return finish(url_for("auth.login"), str(message), "error")


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def code():
    """The second step of a sign-in: a code from the authenticator app, or a recovery code."""
    pending = _pending()
    if pending is None:
        return redirect(url_for("auth.login"))
    note, user = pending
    if now().timestamp() - note["at"] > PENDING_FOR:
        return _restart(EXPIRED)
    form = CodeForm()
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_page("auth/code.html", "auth_code", form=form, status=status)
    try:
        method = two_factor.sign_in_code(db.session, user_id=user.id, code=form.code.data,
                                         now=now())
    except InvalidInput as exc:
        db.session.commit()  # the audit entry of the wrong code
        note["wrong"] += 1
        session[PENDING] = note
        if note["wrong"] >= MAX_WRONG_CODES:
            return _restart(TOO_MANY)
        form.show(exc)
        return form_errors("auth/code.html", "auth_code", form=form)
    session.clear()
    portal_user = sign_in(user, method=method)
    token = (two_factor.remember(db.session, user_id=user.id, now=now(),
                                 user_agent=request.headers.get("User-Agent"))
             if form.remember.data else None)
    _new_device_notice(user, note.get("new_device", False))
    commit_and_dispatch()
    response = finish(note.get("next") or _home(portal_user), note.get("message"))
    return _remember(response, token) if token else response


# -- Policy --------------------------------------------------------------------------------------

@bp.before_app_request
def require_setup():
    """When the policy requires a second factor this user has not set up, every page but the
    set-up itself (and logging out) leads to the set-up."""
    if (request.endpoint in SETUP_ALLOWED or request.endpoint is None
            or request.blueprint == "brand"):
        return None
    if not current_user.is_authenticated or current_user.two_factor_on:
        return None
    if not two_factor.required(current_preferences().two_factor_policy, role=current_user.role):
        return None
    return finish(url_for("two_factor.setup"),
                  _("This portal requires two-factor sign-in: set it up to continue."), "error")


# -- Account & security --------------------------------------------------------------------------

def _issuer() -> str:
    return invitations.portal_name(db.session)


@bp.get("/account/two-factor")
@login_required
def setup():
    """Set-up: the QR code and secret to scan, and the code that switches it on."""
    if current_user.two_factor_on:
        return redirect(url_for("account.show"))
    try:
        shown = two_factor.begin_setup(db.session, user_id=current_user.user_id,
                                       issuer=_issuer(),
                                       policy=current_preferences().two_factor_policy)
    except InvalidInput as exc:
        return finish(url_for("account.show"), str(exc), "error")
    db.session.commit()
    return render_page("account/two_factor_setup.html", "account_two_factor_setup",
                       setup=shown, form=ConfirmForm(formdata=None))


@bp.post("/account/two-factor")
@login_required
def confirm():
    form = ConfirmForm()
    shown = two_factor.begin_setup(db.session, user_id=current_user.user_id, issuer=_issuer(),
                                   policy=current_preferences().two_factor_policy) \
        if not current_user.two_factor_on else None
    if shown is None:
        return redirect(url_for("account.show"), 303)
    if form.validate_on_submit():
        try:
            codes = two_factor.confirm_setup(db.session, user_id=current_user.user_id,
                                             code=form.code.data, now=now())
        except InvalidInput as exc:
            form.show(exc)
        else:
            commit_and_dispatch()
            current_user.two_factor_on = True
            return render_page("account/recovery_codes.html", "account_recovery_codes",
                               codes=codes, message=_("Two-factor sign-in is on."))
    db.session.commit()  # the secret, when this started it
    return form_errors("account/two_factor_setup.html", "account_two_factor_setup",
                       setup=shown, form=form)


@bp.post("/account/two-factor/recovery-codes")
@login_required
def regenerate_codes():
    """New recovery codes, with the password and a current code; shown once."""
    form = PasswordCodeForm(prefix="codes")
    if form.validate_on_submit():
        try:
            codes = two_factor.regenerate_codes(
                db.session, user_id=current_user.user_id, password=form.password.data,
                code=form.code.data, now=now())
        except InvalidInput as exc:
            form.show(exc)
        else:
            commit_and_dispatch()
            return render_page("account/recovery_codes.html", "account_recovery_codes",
                               codes=codes, message=_("New recovery codes: the old ones no "
                                                      "longer work."))
    db.session.commit()
    return form_errors("account/show.html", "account_two_factor",
                       **page_context(codes_form=form))


@bp.post("/account/two-factor/recovery-codes.txt")
@login_required
def download_codes():
    """The codes just shown, as a text file: only those that are this user's unused codes."""
    codes = two_factor.unused_codes_among(db.session, current_user.user_id,
                                          request.form.getlist("code")[:20])
    body = (_("Recovery codes for %(email)s at %(portal)s", email=current_user.email,
                portal=_issuer()) + "\n"
            + _("Each works once, instead of a code from your app.") + "\n\n"
            + "\n".join(codes) + "\n")
    return Response(body, mimetype="text/plain", headers={
        "Content-Disposition": 'attachment; filename="recovery-codes.txt"',
        "Cache-Control": "no-store"})


@bp.post("/account/two-factor/off")
@login_required
def turn_off():
    form = PasswordCodeForm(prefix="off")
    if form.validate_on_submit():
        try:
            two_factor.turn_off(db.session, user_id=current_user.user_id,
                                password=form.password.data, code=form.code.data,
                                policy=current_preferences().two_factor_policy, now=now())
        except InvalidInput as exc:
            form.show(exc)
        else:
            commit_and_dispatch()
            return finish(url_for("account.show"), _("Two-factor sign-in is off."))
    db.session.commit()
    return form_errors("account/show.html", "account_two_factor",
                       **page_context(off_form=form))


@bp.post("/account/two-factor/admins/<int:user_id>/reset")
@admin_required
def reset_admin(user_id: int):
    """Turn off another admin's two-factor sign-in (they lost their phone and codes)."""
    portal.reset_admin_two_factor(db.session, actor=actor(), user_id=user_id, now=now())
    commit_and_dispatch()
    return swap_or_redirect("account_admins", admins=portal.admin_logins(
        db.session, you=current_user.user_id), redirect_to=url_for("account.show"),
        message=_("Two-factor sign-in is off for that admin; they have been emailed."))
