"""Estimates: the list with filters, details, accept or decline, the comment thread, the PDF."""

from __future__ import annotations

from flask import Blueprint, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import TextAreaField
from wtforms.validators import Length

from webapp.blueprints import documents
from webapp.blueprints.comment_forms import blank_comment_form, post_comment
from webapp.blueprints.documents import download
from webapp.context import moment, now
from webapp.db import db
from webapp.dispatch import commit_and_dispatch
from webapp.forms import FlaskForm
from webapp.htmx import form_errors, is_htmx, render_page, swap_or_redirect
from webapp.login import customer_required
from webapp.permissions import action_required
from webapp.services.core import preferences
from webapp.services.engagement import estimates

bp = Blueprint("estimates", __name__, url_prefix="/estimates")


class DeclineForm(FlaskForm):
    reason = TextAreaField(_l("Reason (optional)"),
                           validators=[Length(max=estimates.MAX_REASON)])


def _detail(estimate_id: int) -> estimates.EstimateDetail:
    return estimates.estimate_detail(db.session, customer_id=current_user.customer_id,
                                     estimate_id=estimate_id, at=moment())


def _page_context(detail: estimates.EstimateDetail, **forms) -> dict:
    return {"detail": detail, "comments": detail.comments,
            "comment_url": url_for(".comment", estimate_id=detail.estimate.id),
            "comment_form": forms.get("comment_form") or blank_comment_form(),
            "decline_form": forms.get("decline_form") or DeclineForm(formdata=None)}


@bp.get("")
@customer_required
def index():
    """The customer's estimates; htmx swaps only the list when the filter changes."""
    filters, messages = estimates.read_filters(request.args)
    page = estimates.list_estimates(db.session, customer_id=current_user.customer_id,
                                    filters=filters, at=moment())
    return render_page("estimates/index.html", "estimate_list", page=page, filters=filters,
                       messages=messages)


@bp.get("/<int:estimate_id>")
@customer_required
def detail(estimate_id: int):
    """One estimate: lines, totals, Accept / Decline while open, and the comment thread."""
    return render_page("estimates/detail.html", **_page_context(_detail(estimate_id)))


@bp.post("/<int:estimate_id>/accept")
@customer_required
def accept(estimate_id: int):
    """Accept a sent estimate that has not expired."""
    view = estimates.accept(db.session, customer_id=current_user.customer_id,
                            user_id=current_user.user_id, estimate_id=estimate_id,
                            at=moment())
    commit_and_dispatch()
    return swap_or_redirect("estimate_decision", detail=view, decline_form=None,
                            redirect_to=url_for(".detail", estimate_id=estimate_id),
                            message=_("You accepted estimate %(number)s. Thank you!",
                                      number=view.estimate.number))


@bp.post("/<int:estimate_id>/decline")
@customer_required
def decline(estimate_id: int):
    """Decline a sent estimate that has not expired, with an optional reason."""
    form = DeclineForm()
    if not form.validate_on_submit():
        return form_errors("estimates/detail.html", "estimate_decision",
                           **_page_context(_detail(estimate_id), decline_form=form))
    view = estimates.decline(db.session, customer_id=current_user.customer_id,
                             user_id=current_user.user_id, estimate_id=estimate_id,
                             reason=form.reason.data, at=moment())
    commit_and_dispatch()
    return swap_or_redirect("estimate_decision", detail=view, decline_form=None,
                            redirect_to=url_for(".detail", estimate_id=estimate_id),
                            message=_("You declined estimate %(number)s.",
                                      number=view.estimate.number))


@bp.get("/<int:estimate_id>/comments")
@customer_required
def comments(estimate_id: int):
    """The comment thread alone for htmx; otherwise the estimate's page at its thread."""
    if not is_htmx():
        _detail(estimate_id)  # 404 unless it is the customer's
        return redirect(url_for(".detail", estimate_id=estimate_id, _anchor="comment-thread"))
    return render_page("estimates/detail.html", "comment_thread",
                       **_page_context(_detail(estimate_id)))


@bp.post("/<int:estimate_id>/comments")
@customer_required
def comment(estimate_id: int):
    """Add the customer's comment; htmx swaps the thread with it appended."""
    return post_comment(
        lambda body: estimates.add_comment(db.session, customer_id=current_user.customer_id,
                                           user_id=current_user.user_id,
                                           estimate_id=estimate_id, body=body, now=now()),
        comment_url=url_for(".comment", estimate_id=estimate_id), message=_("Comment added."),
        redirect_to=url_for(".detail", estimate_id=estimate_id, _anchor="comment-thread"),
        refused=lambda form: form_errors("estimates/detail.html", "comment_thread",
                                         **_page_context(_detail(estimate_id),
                                                         comment_form=form)))


@bp.route("/<int:estimate_id>/forward", methods=["GET", "POST"])
@customer_required
@action_required(preferences.DOCUMENTS_FORWARD)
def forward(estimate_id: int):
    """Forward the estimate's PDF to contact persons or other addresses."""
    return documents.forward("estimate", estimate_id)


@bp.get("/<int:estimate_id>.pdf")
@customer_required
def pdf(estimate_id: int):
    """The estimate as a PDF."""
    return download(estimates.estimate_pdf(db.session, customer_id=current_user.customer_id,
                                           estimate_id=estimate_id, at=moment()))

