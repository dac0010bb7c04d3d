"""Comment threads on estimates and time entries: the customer and the organization's admins.

The estimates and timesheets services check that the subject is the customer's, then call
here. A customer's comment adds an admin notification (no email: the admins reply in the
portal); an admin's reply emails the customer while "email the customer when an admin
replies" is on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from webapp.models import Comment, Customer
from webapp.services.core import notifications, outbox, preferences
from webapp.services.core.errors import InvalidInput
from webapp.services.core.i18n import N_, _, ngettext

ESTIMATE, TIME_ENTRY = "estimate", "time_entry"
CUSTOMER, ADMIN = "customer", "admin"
MAX_BODY = 4000
COMMENT_ADDED = "comment_added"  # admin list only


@dataclass(frozen=True)
class CommentView:
    id: int
    author_label: str
    by_admin: bool
    body: str
    created_at: datetime

    @classmethod
    def of(cls, comment: Comment) -> CommentView:
        return cls(comment.id, comment.author_label, comment.author_role == ADMIN,
                   comment.body, comment.created_at)


@dataclass(frozen=True)
class Subject:
    """What a thread is about, as the mail and the notification name it."""

    type: str
    id: int
    customer_id: int
    label: str  # "estimate EST-000001", "the time entry of 12 Nov 2026 on Website redesign"
    page: dict  # the customer's page for it, for links in mail (outbox.page)


def thread(session: Session, *, subject_type: str, subject_id: int,
           customer_id: int) -> tuple[CommentView, ...]:
    """The comments on one subject, oldest first."""
    rows = session.exec(select(Comment).where(
        Comment.subject_type == subject_type, Comment.subject_id == subject_id,
        Comment.customer_id == customer_id)
        .order_by(col(Comment.created_at), col(Comment.id)))
    return tuple(CommentView.of(c) for c in rows)


def clean_body(body: str | None) -> str:
    text = (body or "").strip()
    if not text:
        raise InvalidInput(_("Write a comment first."), field="body")
    if len(text) > MAX_BODY:
        raise InvalidInput(ngettext("Keep a comment under %(num)d character.",
                                    "Keep a comment under %(num)d characters.", MAX_BODY),
                           field="body")
    return text


def _add(session: Session, subject: Subject, *, user_id: int | None, role: str, label: str,
         body: str, now: datetime) -> Comment:
    comment = Comment(subject_type=subject.type, subject_id=subject.id,
                      customer_id=subject.customer_id, author_user_id=user_id,
                      author_role=role, author_label=label[:254], body=clean_body(body),
                      created_at=now)
    session.add(comment)
    session.flush()
    return comment


def add_customer_comment(session: Session, subject: Subject, *, user_id: int | None,
                         body: str, now: datetime) -> tuple[CommentView, ...]:
    """The customer comments; the admins see it in their notifications. Returns the thread."""
    customer = session.get(Customer, subject.customer_id)
    name = customer.display_name
    comment = _add(session, subject, user_id=user_id, role=CUSTOMER, label=name, body=body,
                   now=now)
    notifications.notify_org(session, event=COMMENT_ADDED,
                             title=N_("%(customer)s commented on %(subject)s"),
                             body=N_("%(text)s"), now=now, customer_id=subject.customer_id,
                             params={"customer": name, "subject": str(subject.label),
                                     "text": comment.body})
    return thread(session, subject_type=subject.type, subject_id=subject.id,
                  customer_id=subject.customer_id)


def add_admin_reply(session: Session, subject: Subject, *, user_id: int | None,
                    organization_name: str, body: str, now: datetime) -> tuple[CommentView, ...]:
    """An admin replies in the organization's name; the customer is emailed if preferred."""
    comment = _add(session, subject, user_id=user_id, role=ADMIN, label=organization_name,
                   body=body, now=now)
    if preferences.load(session).email_customer_on_reply:
        customer = session.get(Customer, subject.customer_id)
        outbox.enqueue(session, template="comment_reply", to=customer.email,
                       subject=_("%(org)s replied on %(subject)s", org=organization_name,
                                 subject=subject.label),
                       context={"name": customer.display_name, "subject_label": subject.label,
                                "body": comment.body, "page": subject.page},
                       now=now, customer_id=customer.id)
    return thread(session, subject_type=subject.type, subject_id=subject.id,
                  customer_id=subject.customer_id)
