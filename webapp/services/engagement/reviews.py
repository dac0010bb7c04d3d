"""Reviews: a customer rates the organization 1-5 with a text; only the organization sees it.

Writing one needs the "reviews" preference; the organization is notified. Admins list the
reviews (by customer, if they like) and can ask a customer for one by email.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from webapp.models import Customer, Organization, Review
from webapp.services.core import audit, events, notifications, outbox, preferences
from webapp.services.core.errors import IllegalTransition, InvalidInput, NotFound
from webapp.services.core.i18n import N_, _, ngettext

MAX_BODY = 5000
RATINGS = (5, 4, 3, 2, 1)


@dataclass(frozen=True)
class ReviewView:
    id: int
    customer_id: int
    customer_name: str
    rating: int
    body: str
    created_at: datetime

    @property
    def stars(self) -> str:
        return "★" * self.rating + "☆" * (5 - self.rating)


def _views(session: Session, *conditions) -> tuple[ReviewView, ...]:
    rows = session.exec(select(Review, Customer.display_name)
                        .join(Customer, Customer.id == Review.customer_id)
                        .where(*conditions)
                        .order_by(col(Review.created_at).desc(), col(Review.id).desc()))
    return tuple(ReviewView(r.id, r.customer_id, name, r.rating, r.body, r.created_at)
                 for r, name in rows)


def customer_reviews(session: Session, *, customer_id: int) -> tuple[ReviewView, ...]:
    """The customer's own reviews, newest first."""
    return _views(session, Review.customer_id == customer_id)


def review_detail(session: Session, *, customer_id: int, review_id: int) -> ReviewView:
    """One of the customer's reviews, or NotFound."""
    found = _views(session, Review.customer_id == customer_id, Review.id == review_id)
    if not found:
        raise NotFound(_("No such review."))
    return found[0]


def submit(session: Session, *, customer_id: int, user_id: int | None, rating: int | None,
           body: str, now: datetime) -> ReviewView:
    """Save the customer's review and tell the organization."""
    preferences.require(preferences.load(session), preferences.REVIEWS)
    if rating not in RATINGS:
        raise InvalidInput(_("Choose a rating from 1 to 5 stars."), field="rating")
    body = (body or "").strip()
    if len(body) > MAX_BODY:
        raise InvalidInput(ngettext("Keep the review under %(num)d character.",
                                    "Keep the review under %(num)d characters.", MAX_BODY),
                           field="body")
    review = Review(customer_id=customer_id, user_id=user_id, rating=rating, body=body,
                    created_at=now)
    session.add(review)
    session.flush()
    events.emit(session, "review.created", events.public("review", review), now=now)
    customer = session.get(Customer, customer_id)
    notifications.notify_org(session, event=notifications.REVIEW_SUBMITTED,
                             title=N_("%(customer)s wrote a review (%(rating)s/5)"),
                             body=N_("%(text)s") if body else N_("(no text)"), now=now,
                             customer_id=customer_id,
                             params={"customer": customer.display_name, "rating": rating,
                                     "text": body})
    return review_detail(session, customer_id=customer_id, review_id=review.id)


def admin_reviews(session: Session, *,
                  customer_id: int | None = None) -> tuple[ReviewView, ...]:
    """Every review, or one customer's, newest first."""
    conditions = [] if customer_id is None else [Review.customer_id == customer_id]
    return _views(session, *conditions)


def request_review(session: Session, *, customer_id: int, user_id: int | None, actor: str,
                   now: datetime) -> Customer:
    """Email the customer a link to the review form; recorded in the audit trail."""
    if not preferences.allowed(preferences.load(session), preferences.REVIEWS):
        raise IllegalTransition(_("Reviews are switched off in the preferences: "
                                  "turn them on before asking for one."))
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise InvalidInput(_("Choose a customer."), field="customer_id")
    org = session.get(Organization, 1)
    outbox.enqueue(session, template="review_request", to=customer.email,
                   subject=_("How are we doing? A review for %(org)s", org=org.name),
                   context={"name": customer.display_name, "page": outbox.page("reviews.index")},
                   now=now, customer_id=customer.id)
    audit.record(session, actor_user_id=user_id, actor_label=actor, action="review.request",
                 subject_type="customer", subject_id=customer.id, before={},
                 after={"email": customer.email}, now=now, customer_id=customer.id)
    return customer
