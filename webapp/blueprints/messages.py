"""Send us an email: a message (and a file) to the organization's primary contact."""

from __future__ import annotations

from flask import Blueprint, current_app, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_login import current_user
from flask_wtf.file import FileField
from wtforms import StringField, TextAreaField
from wtforms.validators import Length

from webapp.context import current_org, now
from webapp.db import db
from webapp.dispatch import commit_and_dispatch
from webapp.extensions import limiter
from webapp.forms import FlaskForm
from webapp.htmx import form_errors, render_page, swap_or_redirect
from webapp.login import customer_required
from webapp.services.core.errors import InvalidInput
from webapp.services.engagement import messages

bp = Blueprint("messages", __name__, url_prefix="/messages")


class MessageForm(FlaskForm):
    unplaced_errors = "body"

    subject = StringField(_l("Subject"), validators=[Length(max=messages.MAX_SUBJECT)])
    body = TextAreaField(_l("Message"), validators=[Length(max=messages.MAX_BODY)])
    attachment = FileField(_l("Attachment (optional)"),
                           render_kw={"accept": "application/pdf,image/png,image/jpeg"})

    def upload(self) -> messages.Upload | None:
        """The chosen file, read up to one byte past the limit (enough to refuse it)."""
        file = self.attachment.data
        if not file or not getattr(file, "filename", ""):
            return None
        return messages.Upload(file.filename, file.read(messages.MAX_ATTACHMENT + 1))


def _limit() -> str:
    return current_app.config.get("MESSAGE_RATE_LIMIT", "5 per hour;20 per day")


def _per_user() -> str:
    """Each customer login has its own allowance. The user id comes from the signed login id
    in the session cookie, not from loading the user: the limit is counted before the request
    touches the database (webapp/limits_storage.py says why)."""
    user_id = session.get("_user_id", "").partition(":")[0]
    return f"message-user-{user_id}" if user_id else get_remote_address()


@bp.route("/new", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"], key_func=_per_user)
@customer_required
def new():
    """Write to the organization; the reply comes to the customer's own address."""
    form = MessageForm()
    if form.validate_on_submit():
        try:
            messages.send(db.session, customer_id=current_user.customer_id,
                          user_id=current_user.user_id, subject=form.subject.data,
                          body=form.body.data, upload=form.upload(), now=now())
        except InvalidInput as exc:
            form.show(exc)
        else:
            commit_and_dispatch()
            org = current_org()
            return swap_or_redirect(
                "message_form", form=MessageForm(formdata=None), redirect_to=url_for(".new"),
                message=_("Your message is on its way to %(org)s. They will reply to "
                          "%(email)s.", org=org.name, email=current_user.email))
    if form.is_submitted():
        return form_errors("messages/new.html", "message_form", form=form)
    return render_page("messages/new.html", form=form)
