"""The language switcher's choice, kept where the reader's language is read from: a
customer's locale (which also writes their dates and amounts), an admin's own locale (their
back office's words; its dates and amounts stay the organization's). A visitor's choice before
sign-in is the web layer's (a cookie): webapp/languages.py.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from webapp.models import Customer, User
from webapp.services.accounts import profile
from webapp.services.core import languages
from webapp.services.core.errors import InvalidInput, NotFound
from webapp.services.core.i18n import _


def check(language: str | None) -> str:
    """One of the available languages, as offered; InvalidInput otherwise."""
    if language is None or language.strip() not in languages.available():
        raise InvalidInput(_("Choose one of the languages offered."), field="language")
    return language.strip()


def choose_for_customer(session: Session, *, customer_id: int, org_locale: str | None,
                        user_id: int | None, actor: str, language: str, now: datetime) -> bool:
    """Read the portal in `language`: the customer's locale becomes one in that language
    (`languages.locale_for_choice`). True when it changed."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(_("No such customer."))
    locale = languages.locale_for_choice(check(language), customer.locale, org_locale)
    return profile.set_locale(session, customer_id=customer_id, user_id=user_id, actor=actor,
                              locale=locale, now=now)


def choose_for_admin(session: Session, *, user_id: int, org_locale: str | None,
                     language: str) -> bool:
    """An admin reads the back office in `language` (user.locale; None: the organization's
    language). True when it changed."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(_("No such user."))
    locale = languages.locale_for_choice(check(language), user.locale, org_locale)
    if user.locale == locale:
        return False
    user.locale = locale
    return True
