"""Form pieces shared by the engagement pages: the comment form (estimates and time entries,
customers and admins) and select options."""

from __future__ import annotations

from flask_wtf import FlaskForm
from sqlmodel import Session
from wtforms import SelectChoice, TextAreaField
from wtforms.validators import InputRequired, Length

from webapp.services import comments, profile
from webapp.services.errors import InvalidInput


class CommentForm(FlaskForm):
    body = TextAreaField("Your comment", validators=[
        InputRequired(message="Write a comment first."), Length(max=comments.MAX_BODY)])

    def add_error(self, error: InvalidInput) -> None:
        self.body.errors = [*self.body.errors, error.message]


def blank_comment_form() -> CommentForm:
    """An empty form (after a comment is added, or on the page's first view)."""
    return CommentForm(formdata=None)


def options(labels: dict) -> list[SelectChoice]:
    """A select's options from {value: label}."""
    return [SelectChoice(value, label) for value, label in labels.items()]


def customer_options(session: Session) -> list[SelectChoice]:
    """Every customer, after a "Choose a customer" option (0) for the admins' forms."""
    return [SelectChoice(0, "Choose a customer")] + [
        SelectChoice(cid, label) for cid, label in profile.customer_choices(session)]
