"""Reviews: the customer rates the organization and sees their past reviews."""

from __future__ import annotations

from flask import Blueprint, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import RadioField, SelectChoice, TextAreaField
from wtforms.validators import Length

from webapp.context import now
from webapp.db import db
from webapp.dispatch import commit_and_dispatch
from webapp.forms import FlaskForm
from webapp.htmx import form_errors, render_page, swap_or_redirect
from webapp.login import customer_required
from webapp.services.core.errors import InvalidInput
from webapp.services.engagement import reviews

bp = Blueprint("reviews", __name__, url_prefix="/reviews")

STAR_LABELS = {5: _l("5 stars: excellent"), 4: _l("4 stars: good"), 3: _l("3 stars: fair"),
               2: _l("2 stars: poor"), 1: _l("1 star: bad")}


class ReviewForm(FlaskForm):
    unplaced_errors = "body"

    rating = RadioField(_l("Rating"), coerce=int, validate_choice=False,
                        choices=[SelectChoice(v, label) for v, label in STAR_LABELS.items()])
    body = TextAreaField(_l("Your review"), validators=[Length(max=reviews.MAX_BODY)])


def _context(form: ReviewForm | None = None) -> dict:
    return {"reviews": reviews.customer_reviews(db.session,
                                                customer_id=current_user.customer_id),
            "form": form or ReviewForm(formdata=None)}


@bp.get("")
@customer_required
def index():
    """The review form and the customer's past reviews (only the organization sees them)."""
    return render_page("reviews/index.html", **_context())


@bp.post("")
@customer_required
def submit():
    """Save a review; the organization is notified. htmx swaps the reviews section."""
    form = ReviewForm()
    if form.validate_on_submit():
        try:
            reviews.submit(db.session, customer_id=current_user.customer_id,
                           user_id=current_user.user_id, rating=form.rating.data,
                           body=form.body.data, now=now())
        except InvalidInput as exc:
            form.show(exc)
        else:
            commit_and_dispatch()
            return swap_or_redirect("review_section", **_context(),
                                    message=_("Thank you for your review."),
                                    redirect_to=url_for(".index"))
    return form_errors("reviews/index.html", "review_section", **_context(form))


@bp.get("/<int:review_id>")
@customer_required
def detail(review_id: int):
    """One of the customer's past reviews."""
    review = reviews.review_detail(db.session, customer_id=current_user.customer_id,
                                   review_id=review_id)
    return render_page("reviews/detail.html", review=review)
