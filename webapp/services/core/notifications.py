"""Telling the organization what happened in the portal: the admin list, and email for some.

Features call `notify_org` with one of the event names below. Every call adds an admin
notification; the events DESIGN.md lists as emailed also write an outbox email to the
organization's primary contact while "notify organization of portal activity" is on.

A notification's title and body are message ids (English texts marked with `N_`, with
`%(name)s` placeholders) and its `params` their values, stored as they are: each reader sees
them in their own language (`render`). A value may itself be a message (`message(...)`, e.g.
a confirmation's sentence inside "%(customer)s: %(text)s"; `lazy_ngettext(...)` for one that
depends on a count), a `Dated` one (`dated(...)`: its dates and amounts written in the locale
it was made for) or a list of values (shown one a line). Rows written before issue 33 have no
params and show as they were stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from babel.support import LazyProxy
from sqlalchemy import func, update
from sqlmodel import Session, select

from webapp.models import Customer, Notification, Organization
from webapp.services.core import audit, bulk, dates, i18n, outbox, preferences
from webapp.services.core.errors import NotFound
from webapp.services.core.i18n import gettext_now, ngettext_now, use_locale

# Emailed to the organization (when the preference is on).
PAYMENT_RECEIVED = "payment_received"
DUNNING_FINAL_ACTION = "dunning_final_action"  # failed charges reached the final action
SUBSCRIPTION_CANCELLED = "subscription_cancelled"
REVIEW_SUBMITTED = "review_submitted"
ESTIMATE_ACCEPTED = "estimate_accepted"
ESTIMATE_DECLINED = "estimate_declined"
MESSAGE_RECEIVED = "message_received"
PROFILE_CHANGED = "profile_changed"
EMAILED_EVENTS: frozenset[str] = frozenset({
    PAYMENT_RECEIVED, DUNNING_FINAL_ACTION, SUBSCRIPTION_CANCELLED, REVIEW_SUBMITTED,
    ESTIMATE_ACCEPTED, ESTIMATE_DECLINED, MESSAGE_RECEIVED, PROFILE_CHANGED,
})
# Any other event name (e.g. "subscription_paused") goes to the admin list only.
# Events only a customer's own action causes (engagement's names are written out: core knows
# no feature): each is an audit entry too, so one trail says who did what (issue 31). A
# customer's subscription actions are recorded by billing.context.confirm.
CUSTOMER_ACTIONS: frozenset[str] = frozenset({
    REVIEW_SUBMITTED, ESTIMATE_ACCEPTED, ESTIMATE_DECLINED, "customer_message", "comment_added",
    "time_entries_decided",
})
CUSTOMER_ACTION_PREFIX = "customer."  # an audit entry's action: "customer.review_submitted"
# A charge that succeeded after the portal had marked it failed (services/charges.py).
LATE_PAYMENT = "late_payment"

PER_PAGE = 50
# An audit entry's details may hold the params of its "title" and "body" message ids.
MESSAGE_PARAMS = "message_params"
# In a notification's params: the plural message id of a title that depends on a count ("num")
# (the title's alone: `render_body` leaves it out).
PLURAL = "_plural"
_CLIP = 1000  # the longest text an audit entry keeps of a detail


# --- A notification's words ---------------------------------------------------------------------

def message(msgid: str, **params: Any) -> dict:
    """A message as another message's parameter (JSON): translated and filled in when shown.
    `msgid` is marked where it is written: `message(N_("... %(number)s ..."), number=...)`."""
    return {"msgid": i18n.msgid_of(msgid), "params": params}


def lazy_ngettext(singular: str, plural: str, num: int, **params: Any) -> dict:
    """A message that depends on `num` (its "%(num)d"), as a parameter or a notification's
    title: the right form is chosen when shown. Named so that `pybabel extract` (keyword
    lazy_ngettext:1,2) takes the pair as one plural message."""
    return {"msgid": singular, "plural": plural, "params": {"num": num, **params}}


def dated(message: dates.Dated | str, locale: str | None) -> dict | str:
    """A `Dated` message as a parameter (JSON): written when shown, its dates and amounts in
    `locale` (the organization's); a plain text stays as it is."""
    if isinstance(message, dates.Dated):
        return {"dated": message.as_json(), "locale": locale}
    return message


def render(text: str, params: Mapping[str, Any] | None = None) -> str:
    """A stored title or body in the current language: the message id translated, then filled
    in with its params. A text that is no message id (a row from before issue 33, without
    params) comes back as it was stored."""
    params = dict(params or {})
    plural = params.pop(PLURAL, None)
    values = {name: _shown(value) for name, value in params.items()}
    try:
        if plural is not None:
            num = int(values.get("num", 1))
            return ngettext_now(text, plural, num,
                                **{k: v for k, v in values.items() if k != "num"})
        return gettext_now(text, **values)
    except (KeyError, ValueError, TypeError):  # a translation whose placeholders do not fit
        english = plural if plural is not None and values.get("num") != 1 else text
        try:
            return english % values if values else english
        except (KeyError, ValueError, TypeError):
            return english


def render_body(text: str, params: Mapping[str, Any] | None = None) -> str:
    """A stored body in the current language (its params shared with the title, whose
    plural is not the body's)."""
    return render(text, {k: v for k, v in (params or {}).items() if k != PLURAL})


def _shown(value: Any) -> Any:
    if isinstance(value, Mapping):
        if "msgid" in value:
            params = dict(value.get("params") or {})
            if "plural" in value:
                params[PLURAL] = value["plural"]
            return render(value["msgid"], params)
        if "dated" in value:
            return dates.say(dates.Dated.from_json(value["dated"]), value.get("locale"))
    if isinstance(value, list):
        return "\n".join(str(_shown(item)) for item in value)
    return value


def _stored(session: Session, title: str | Mapping,
            params: Mapping[str, Any] | None) -> tuple[str, dict]:
    """A title and params as notify_org stores them: a message id and JSON (a `message(...)`
    or `lazy_ngettext(...)` title brings its own params and plural; a `Dated` value becomes
    `dated(value, <the organization's locale>)`)."""
    params = {key: _no_lazy(value) for key, value in (params or {}).items()}
    if isinstance(title, Mapping):
        params |= dict(title.get("params") or {})
        if "plural" in title:
            params[PLURAL] = title["plural"]
        title = title["msgid"]
    if _has_dated(params):
        org = session.get(Organization, 1)
        params = _jsonable(params, org.locale if org else None)
    return title, params


def stored_params(session: Session, params: Mapping[str, Any] | None) -> dict:
    """Message params as they are stored (JSON), e.g. in an audit entry's MESSAGE_PARAMS:
    `Dated` values with the organization's locale."""
    return _stored(session, "", params)[1]


def _no_lazy(value: Any) -> Any:
    """A lazy text (`_("Name")`) as a message to translate when shown; the rest as it is."""
    if isinstance(value, LazyProxy):
        return message(value)
    if isinstance(value, list | tuple):
        return [_no_lazy(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _no_lazy(v) for k, v in value.items()}
    return value


def _has_dated(value: Any) -> bool:
    if isinstance(value, dates.Dated):
        return True
    if isinstance(value, Mapping):
        return any(_has_dated(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_dated(v) for v in value)
    return False


def _jsonable(value: Any, locale: str | None) -> Any:
    if isinstance(value, dates.Dated):
        return dated(value, locale)
    if isinstance(value, Mapping):
        return {k: _jsonable(v, locale) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v, locale) for v in value]
    return value


def _clip(value: Any) -> Any:
    """A detail as an audit entry keeps it: texts (in params too) cut at _CLIP characters."""
    if isinstance(value, str):
        return value[:_CLIP]
    if isinstance(value, Mapping):
        return {k: _clip(v) for k, v in value.items()}
    return value


def in_org_language(org: Organization | None, title: str, body: str,
                    params: Mapping[str, Any]) -> tuple[str, str]:
    """A title and body written now in the organization's language: what an email to the
    organization (or its admins) says, its subject being a stored header."""
    with use_locale(org.locale if org else None):
        return render(title, params), render_body(body, params)


def _org_mail(org: Organization, title: str, body: str, params: Mapping[str, Any],
              event: str) -> tuple[str, dict]:
    """The organization's email of a notification: its subject and context."""
    subject, text = in_org_language(org, title, body, params)
    return subject, {"title": subject, "body": text, "event": event}


# --- Telling the organization -------------------------------------------------------------------

def notify_org(session: Session, *, event: str, title: str | Mapping, body: str, now: datetime,
               customer_id: int | None = None,
               params: Mapping[str, Any] | None = None) -> Notification:
    """Add an admin notification; email the organization too for the events it wants mailed.
    `title` and `body` are message ids (`N_("%(customer)s paid %(amount)s")`), `params` their
    values (texts, numbers, lists, `message(...)`, `Dated` messages, written in the
    organization's locale when shown); a title may also be a `lazy_ngettext(...)`."""
    title, params = _stored(session, title, params)
    note = Notification(event=event, title=title, body=body, params=params,
                        customer_id=customer_id, created_at=now)
    session.add(note)
    session.flush()
    if event in CUSTOMER_ACTIONS and customer_id is not None:
        record_customer_action(session, event=event, customer_id=customer_id,
                               subject_type="customer", subject_id=customer_id,
                               details={"title": title, "body": body, MESSAGE_PARAMS: params},
                               now=now)
    org = _mailed_organization(session, event)
    if org is not None:
        customer = session.get(Customer, customer_id) if customer_id is not None else None
        subject, context = _org_mail(org, title, body, params, event)
        # A reply goes straight to the customer the notification is about.
        outbox.enqueue(session, template="org_notification", to=org.email, subject=subject,
                       context=context, reply_to=customer.email if customer else None, now=now)
    return note


def record_customer_action(session: Session, *, event: str, customer_id: int, subject_type: str,
                           subject_id: int | None, details: dict, now: datetime) -> None:
    """The audit entry of a customer's action: the customer as the actor, the event as the
    action ("customer.<event>"), what the organization was told as its details (its "title"
    and "body" message ids with their MESSAGE_PARAMS, shown in the reader's language)."""
    customer = session.get(Customer, customer_id)
    audit.record(session, actor_user_id=None,
                 actor_label=customer.display_name if customer else "A customer",
                 action=CUSTOMER_ACTION_PREFIX + event, subject_type=subject_type,
                 subject_id=subject_id, before={},
                 after={k: _clip(v) for k, v in details.items()},
                 now=now, customer_id=customer_id)


def notify_org_many(session: Session, *, event: str, items: list[tuple],
                    now: datetime, emails: dict[int, str] | None = None) -> None:
    """`notify_org` for many (title, body, customer_id[, params]) of one event: one INSERT per
    table. `emails` may give the customers' addresses (the replies' address) when the caller
    has them."""
    if not items:
        return
    rows = []
    for title, body, customer_id, *rest in items:
        msgid, params = _stored(session, title, rest[0] if rest else None)
        rows.append((msgid, body, customer_id, params))
    bulk.insert(session, Notification.__table__, [
        {"event": event, "title": title, "body": body, "params": params,
         "customer_id": customer_id, "created_at": now}
        for title, body, customer_id, params in rows])
    org = _mailed_organization(session, event)
    if org is None:
        return
    customer_ids = {customer_id for _, _, customer_id, _ in rows if customer_id is not None}
    if emails is None or not customer_ids <= emails.keys():
        emails = dict(session.exec(select(Customer.id, Customer.email).where(
            Customer.id.in_(customer_ids))).all()) if customer_ids else {}
    mails = []
    for title, body, customer_id, params in rows:
        subject, context = _org_mail(org, title, body, params, event)
        mails.append({"template": "org_notification", "to": org.email, "subject": subject,
                      "context": context, "reply_to": emails.get(customer_id)})
    outbox.enqueue_many(session, mails, now=now)


def _mailed_organization(session: Session, event: str) -> Organization | None:
    """The organization, when `event` is one it is emailed about and it wants the emails."""
    if event not in EMAILED_EVENTS:
        return None
    org = session.get(Organization, 1)
    if org is None or not org.email or not preferences.load(session).notify_organization:
        return None
    return org


@dataclass(frozen=True)
class NotificationView:
    """A notification as the list shows it: `title` and `body` in the reader's language
    (written when read, from the stored message ids and params)."""

    id: int
    event: str
    title_id: str
    body_id: str
    customer_id: int | None
    created_at: datetime
    read_at: datetime | None
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return render(self.title_id, self.params)

    @property
    def body(self) -> str:
        return render_body(self.body_id, self.params) if self.body_id else ""

    @property
    def unread(self) -> bool:
        return self.read_at is None

    @classmethod
    def of(cls, note: Notification) -> NotificationView:
        return cls(note.id, note.event, note.title, note.body, note.customer_id,
                   note.created_at, note.read_at, note.params or {})


@dataclass(frozen=True)
class NotificationPage:
    items: tuple[NotificationView, ...]
    page: int
    has_next: bool
    unread_count: int

    @property
    def previous_page(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def next_page(self) -> int | None:
        return self.page + 1 if self.has_next else None


def list_page(session: Session, *, page: int = 1) -> NotificationPage:
    """Newest first, PER_PAGE at a time, with how many are unread in all."""
    page = max(page, 1)
    rows = session.exec(select(Notification)
                        .order_by(Notification.created_at.desc(), Notification.id.desc())
                        .offset((page - 1) * PER_PAGE).limit(PER_PAGE + 1)).all()
    unread = session.exec(select(func.count()).select_from(Notification)
                          .where(Notification.read_at.is_(None))).one()
    return NotificationPage(tuple(NotificationView.of(n) for n in rows[:PER_PAGE]), page,
                            len(rows) > PER_PAGE, unread)


def mark_read(session: Session, *, notification_id: int, now: datetime) -> NotificationView:
    """Mark one notification read (again is harmless); NotFound if there is none."""
    session.execute(update(Notification)
                    .where(Notification.id == notification_id, Notification.read_at.is_(None))
                    .values(read_at=now).execution_options(synchronize_session=False))
    note = session.get(Notification, notification_id, populate_existing=True)
    if note is None:
        raise NotFound()
    return NotificationView.of(note)
