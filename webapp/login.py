"""Flask-Login glue: the login id names the user, their session version and this sign-in's
session row (services/accounts/sessions.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from functools import wraps

from flask import Flask, Response, abort, current_app, g, redirect, request, url_for
from flask_login import UserMixin, current_user, login_required, login_user
from itsdangerous import BadSignature, URLSafeTimedSerializer

from webapp import clock
from webapp.db import db, write_intent
from webapp.extensions import login_manager
from webapp.models import User
from webapp.services.accounts import request_facts, sessions


class PortalUser(UserMixin):
    """The logged-in person, detached from the database session. `facts` is what the login
    statement read along with them (organization, preferences), for webapp/context.py's
    `load_request_facts`; None for a user signed in during this request."""

    facts: request_facts.LoginFacts | None = None

    def __init__(self, user: User | request_facts.UserView, *, session_id: int,
                 token: str) -> None:
        self.user_id = user.id
        self.email = user.email
        self.role = user.role
        self.customer_id = user.customer_id
        self.session_version = user.session_version
        self.two_factor_on = user.totp_enabled_at is not None
        self.session_id = session_id  # this browser's row in user_session
        self.session_token = token

    def get_id(self) -> str:
        return request_facts.login_id(self.user_id, self.session_version, self.session_token)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def sign_in(user: User, *, method: str) -> PortalUser:
    """Start a server-side session for `user` on this browser and log it in (the caller has
    cleared the Flask session and commits)."""
    started = sessions.start(
        db.session, user_id=user.id, method=method, ip=request.remote_addr,
        user_agent=request.headers.get("User-Agent"), now=clock.now())
    portal_user = PortalUser(user, session_id=started.session_id, token=started.token)
    login_user(portal_user)
    return portal_user


@login_manager.user_loader
def _load_user(login_id: str) -> PortalUser | None:
    """The user, and in the same query this session's row, the organization and preferences
    every page reads (kept on the user as `facts`: webapp/context.py `load_request_facts`
    puts them in g). Keeping the session's row fresh is left to the request's end."""
    facts = request_facts.for_login(db.session, login_id, rider=_rider())
    if facts is None:
        return None
    now = clock.now()
    if facts.session_expired(now):
        g.session_upkeep = (sessions.end_expired, facts.login_session.id, now)
        return None
    if sessions.due_for_touch(facts.login_session, now=now):
        g.session_upkeep = (sessions.touch, facts.login_session.id, now)
    user = PortalUser(facts.user, session_id=facts.login_session.id, token=facts.token)
    user.facts = facts
    return user


def reads_along(rider_for: Callable[..., request_facts.Rider]):
    """The view's own read, made by `rider_for(**view_args)`, goes in the login's statement
    (`request_facts.Rider`); the view gets its parts from `ridden`. Put it under
    `customer_required`: the wrappers keep the mark."""

    def mark(view):
        view.login_rider = rider_for
        return view

    return mark


def _rider() -> request_facts.Rider | None:
    """The rider of the view this request goes to, if it has one and the URL matched."""
    if request.endpoint is None:
        return None
    rider_for = getattr(current_app.view_functions.get(request.endpoint), "login_rider", None)
    return rider_for(**(request.view_args or {})) if rider_for is not None else None


def ridden() -> Mapping[str, list] | None:
    """What the view's `reads_along` read found with this request's login; None when the
    login was not read with it (a user signed in during this request): the view then reads
    for itself."""
    facts = getattr(current_user, "facts", None)
    return facts.ridden if facts is not None else None


# A browser that has signed in to an account keeps a signed list of those accounts (throttle
# keys, services/accounts/throttle.py): the per-account limit does not hold it back.
DEVICE_COOKIE = "portal_device"
DEVICE_MAX_AGE = timedelta(days=365)
_DEVICE_ACCOUNTS = 5


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="portal.device")


def _device_accounts() -> list[str]:
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return []
    try:
        accounts = _device_serializer().loads(raw, max_age=int(DEVICE_MAX_AGE.total_seconds()))
    except BadSignature:
        return []
    return [a for a in accounts if isinstance(a, str)] if isinstance(accounts, list) else []


def trusted_device(account_key: str) -> bool:
    """Has this browser signed in to the account before?"""
    return account_key in _device_accounts()


def remember_device(response: Response, account_key: str) -> Response:
    """Mark this browser as one that signed in to the account."""
    accounts = [a for a in _device_accounts() if a != account_key][-(_DEVICE_ACCOUNTS - 1):]
    response.set_cookie(DEVICE_COOKIE, _device_serializer().dumps([*accounts, account_key]),
                        max_age=int(DEVICE_MAX_AGE.total_seconds()), httponly=True,
                        samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


def _session_upkeep(_exc: BaseException | None) -> None:
    """After the request's own work: end an expired session row, or move its last seen.
    Its own short transaction, once the request's session is closed (on SQLite a POST's
    transaction holds the write lock until then)."""
    upkeep = g.pop("session_upkeep", None)
    if upkeep is None:
        return
    db.close_session()
    job, session_id, now = upkeep
    with write_intent(), db.engine.begin() as connection:
        job(connection, session_id=session_id, now=now)


def register(app: Flask) -> None:
    app.teardown_appcontext(_session_upkeep)


def customer_required(view):
    """Logged in as a customer user; admins go to their own pages."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if current_user.is_admin:
            return redirect(url_for("admin.index"))
        if current_user.customer_id is None:
            abort(404)
        return view(*args, **kwargs)

    return wrapper


def admin_required(view):
    """Logged in as an admin; a customer gets 404 so admin URLs do not reveal themselves."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(404)
        return view(*args, **kwargs)

    return wrapper
