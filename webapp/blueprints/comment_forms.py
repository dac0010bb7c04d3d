"""Form pieces shared by the engagement pages: the comment form and its POST handling
(estimates and time entries, customers and admins) and select options."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlmodel import Session
from wtforms import SelectChoice, TextAreaField
from wtforms.validators import InputRequired, Length

from webapp.dispatch import commit_and_dispatch
from webapp.forms import FlaskForm
from webapp.htmx import swap_or_redirect
from webapp.services.accounts import profile
from webapp.services.core.errors import InvalidInput
from webapp.services.engagement import comments


class CommentForm(FlaskForm):
    body = TextAreaField(_l("Your comment"), validators=[
        InputRequired(message=_l("Write a comment first.")), Length(max=comments.MAX_BODY)])
    unplaced_errors = "body"


def blank_comment_form() -> CommentForm:
    """An empty form (after a comment is added, or on the page's first view)."""
    return CommentForm(formdata=None)


def post_comment(write: Callable[[str], Sequence], *, comment_url: str, redirect_to: str,
                 message: str,
                 refused: Callable[[CommentForm], ResponseReturnValue]) -> ResponseReturnValue:
    """A comment POST: `write(body)` adds it and returns the thread, which htmx swaps in (or a
    redirect to `redirect_to` without JS); a refused comment re-renders via `refused(form)`."""
    form = CommentForm()
    if form.validate_on_submit():
        try:
            thread = write(form.body.data)
        except InvalidInput as exc:
            form.show(exc)
        else:
            commit_and_dispatch()
            return swap_or_redirect("comment_thread", comments=thread,
                                    comment_form=blank_comment_form(), comment_url=comment_url,
                                    message=message, redirect_to=redirect_to)
    return refused(form)


def options(labels: dict) -> list[SelectChoice]:
    """A select's options from {value: label}; the labels are English message ids (constants
    marked with `N_`), translated when the form is shown."""
    return [SelectChoice(value, _l(str(label))) for value, label in labels.items()]


def customer_options(session: Session) -> list[SelectChoice]:
    """Every customer, after a "Choose a customer" option (0) for the admins' forms."""
    return [SelectChoice(0, _("Choose a customer"))] + [
        SelectChoice(cid, label) for cid, label in profile.customer_choices(session)]
