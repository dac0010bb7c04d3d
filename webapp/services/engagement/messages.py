"""Send us an email: a customer writes to the organization's primary contact from the portal.

The message is kept (with its attachment) and mailed through the outbox with Reply-To the
customer, so the organization answers by replying. The file is checked by its first bytes,
not by its name or the browser's content type: only PDF, PNG and JPEG, at most 5 MB. The
admin list gets a notification too, but no second email: the message itself is the email.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath

from sqlmodel import Session

from webapp.models import Customer, CustomerMessage, Organization
from webapp.services.core import notifications, outbox, pdf
from webapp.services.core.errors import DomainError, InvalidInput, NotFound
from webapp.services.core.i18n import N_, _, ngettext

MAX_ATTACHMENT = 5 * 1024 * 1024
MAX_SUBJECT = 200
MAX_BODY = 10_000
# media type -> (the bytes a file of that type starts with, the extension it gets)
SIGNATURES = {"application/pdf": (b"%PDF-", "pdf"),
              "image/png": (b"\x89PNG\r\n\x1a\n", "png"),
              "image/jpeg": (b"\xff\xd8\xff", "jpg")}
MESSAGE_SENT = "customer_message"  # admin list only: the message is its own email
ATTACHMENT_KIND = "message_attachment"  # documents.sources.SOURCES renders it for the outbox


class NoPrimaryContact(DomainError):
    """The organization has no email address to write to."""


@dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes


def media_type_of(content: bytes) -> str | None:
    """The file's type by its first bytes, if it is one we accept."""
    for media_type, (magic, _ext) in SIGNATURES.items():
        if content.startswith(magic):
            return media_type
    return None


def check_upload(upload: Upload) -> tuple[str, str]:
    """(safe file name, media type) of an acceptable file, or InvalidInput on `attachment`."""
    if len(upload.content) > MAX_ATTACHMENT:
        raise InvalidInput(_("The file is larger than 5 MB."), field="attachment")
    media_type = media_type_of(upload.content)
    if media_type is None:
        raise InvalidInput(_("Attach a PDF, PNG or JPEG file."), field="attachment")
    stem = PurePath(upload.filename.replace("\\", "/")).stem[:100] or "attachment"
    return pdf.filename_for(stem, SIGNATURES[media_type][1]), media_type


def _clean(subject: str, body: str) -> tuple[str, str]:
    subject, body = " ".join((subject or "").split()), (body or "").strip()
    if not subject:
        raise InvalidInput(_("Enter a subject."), field="subject")
    if len(subject) > MAX_SUBJECT:
        raise InvalidInput(ngettext("Keep the subject under %(num)d character.",
                                    "Keep the subject under %(num)d characters.", MAX_SUBJECT),
                           field="subject")
    if not body:
        raise InvalidInput(_("Write your message."), field="body")
    if len(body) > MAX_BODY:
        raise InvalidInput(ngettext("Keep the message under %(num)d character.",
                                    "Keep the message under %(num)d characters.", MAX_BODY),
                           field="body")
    return subject, body


def send(session: Session, *, customer_id: int, user_id: int | None, subject: str, body: str,
         upload: Upload | None, now: datetime) -> CustomerMessage:
    """Mail the message to the organization's primary contact, Reply-To the customer."""
    subject, body = _clean(subject, body)
    name, media_type = check_upload(upload) if upload else ("", "")
    org = session.get(Organization, 1)
    if org is None or not org.email:
        raise NoPrimaryContact(_("We cannot take messages here yet; please call us instead."))
    customer = session.get(Customer, customer_id)
    message = CustomerMessage(customer_id=customer_id, user_id=user_id, subject=subject,
                              body=body, attachment_name=name, attachment_type=media_type,
                              attachment=upload.content if upload else None, created_at=now)
    session.add(message)
    session.flush()
    sender = customer.company or customer.display_name
    mail = outbox.enqueue(
        session, template="customer_message", to=org.email,
        subject=_("Portal message from %(sender)s: %(subject)s", sender=sender,
                  subject=subject),
        context={"sender": customer.display_name, "company": customer.company,
                 "sender_email": customer.email, "subject": subject, "body": body,
                 "attachment_name": name},
        now=now, reply_to=customer.email, customer_id=customer_id,
        attachment_kind=ATTACHMENT_KIND if upload else None,
        attachment_id=message.id if upload else None)
    message.outbox_message_id = mail.id
    notifications.notify_org(session, event=MESSAGE_SENT,
                             title=N_("%(customer)s sent a message: %(subject)s"),
                             body=N_("%(text)s"), now=now, customer_id=customer_id,
                             params={"customer": customer.display_name, "subject": subject,
                                     "text": body})
    session.flush()
    return message


@dataclass(frozen=True)
class StoredFile(pdf.DocumentSource):
    """An uploaded file where documents expect a source: rendering returns it as it is."""

    content: bytes = b""
    media_type: str = ""

    def render(self) -> pdf.Document:
        return pdf.Document(self.filename, self.content, self.media_type)


def attachment_source(session: Session, *, customer_id: int,
                      message_id: int) -> StoredFile:
    """The file a customer attached to a message (documents.sources.SOURCES "message_attachment"),
    for the outbox to attach when sending."""
    message = session.get(CustomerMessage, message_id)
    if message is None or message.customer_id != customer_id or message.attachment is None:
        raise NotFound(_("No such attachment."))
    return StoredFile("", {}, message.attachment_name, message.attachment,
                      message.attachment_type)
