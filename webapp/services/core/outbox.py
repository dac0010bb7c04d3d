"""The outbox: mail written with the change that causes it, sent at least once after commit.

A row is written in the caller's transaction (`enqueue`), so a rollback leaves no mail. After
commit its id is dispatched to `worker.jobs.send_outbox_message`, which `claim`s the row with a
guarded update (pending -> sending, with a lease) in its own committed transaction, then
`send`s it and marks it sent. A sender that dies leaves the row leased; once the lease ends
`sweep` hands it out again. Every copy carries the row's one Message-ID, so a receiver can drop
a repeat. Here `message_id` always means the outbox row's id; the header is `message_id_header`.

Several rows at once (`worker.jobs.send_outbox_messages`): `claim_many` takes them with one
guarded update, `send_many` sends them over one SMTP connection and marks the sent ones with one
update; a row whose send raises is released alone, the others are still sent.

A mail's link to a portal page is kept in the row's context as the page's endpoint and values
(`"page": page("invoices.detail", invoice_id=7)`), never as a URL: the sender passes `paths`, which
builds the page's path from them when the mail is sent (webapp/links.py), and the templates
put it after the portal's public address (`{{ base_url }}{{ path }}`). Rows written before
carry a "path" of their own and are sent as they are.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from typing import Any

from babel.support import LazyProxy
from sqlalchemy import and_, event, or_, update
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, select

from webapp.models import Customer, Organization, OutboxMessage
from webapp.services.core import brand, bulk, i18n, languages, locales
from webapp.services.core.mail import WEBAPP_DIR, Mailer, connection, render

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
MAX_ATTEMPTS = 10  # then the row is left "failed" for a person to look at
SWEEP_BATCH = 500
# session.info key: ids of the outbox rows this transaction wrote, dispatched after commit.
WRITTEN_IDS = "outbox_written_ids"
# (session, *, kind, document_id, customer_id, now) -> a document with filename, content, media_type
Attach = Callable[..., Any]
# (endpoint, values) -> the page's path ("/invoices/7"), given by the sender (webapp/links.py)
Paths = Callable[[str, Mapping[str, Any]], str]
PAGE = "page"  # context key: {"endpoint": ..., "values": {...}}, made into the "path"


def page(endpoint: str, **values: int | str) -> dict[str, Any]:
    """A mail's link to a portal page, for the row's context (`"page": page(...)`): the
    endpoint and its values, made into a URL when the mail is sent."""
    return {"endpoint": endpoint, "values": values}


def enqueue(session: Session, *, template: str, to: str, subject: str | LazyProxy,
            context: dict[str, Any], now: datetime, reply_to: str | None = None,
            customer_id: int | None = None, attachment_kind: str | None = None,
            attachment_id: int | None = None) -> OutboxMessage:
    """Write one email in the caller's transaction; it is sent only if that transaction commits.

    `context` must be JSON (ids, strings, numbers); the templates mail/<template>.txt and .html
    get it plus `org`. `reply_to` defaults to the organization's email when sending. A
    `subject` marked with i18n's `_` is written now in its reader's language (the customer's,
    else the organization's, as the body: `_locale`), since the row keeps it as text.
    """
    _require_template(template)
    if not isinstance(subject, str):
        org = session.get(Organization, 1)
        customer = session.get(Customer, customer_id) if customer_id is not None else None
        subject = _written(subject, _reader_locale(
            to, customer_id, org, {customer_id: customer.locale} if customer else {}), org)
    row = OutboxMessage(template=template, to_address=to, subject=subject, context=context,
                        reply_to=reply_to, customer_id=customer_id,
                        attachment_kind=attachment_kind, attachment_id=attachment_id,
                        message_id_header=make_msgid(domain=_message_id_domain(session)),
                        created_at=now)
    session.add(row)
    session.flush()
    session.info.setdefault(WRITTEN_IDS, []).append(row.id)
    return row


def enqueue_many(session: Session, messages: list[dict[str, Any]], *, now: datetime) -> list[int]:
    """`enqueue` for many rows in one INSERT: each dict has template, to, subject, context and
    optionally customer_id and reply_to. Returns the new ids in the order given. Subjects
    marked with i18n's `_` are written in each reader's language, as `enqueue`'s."""
    if not messages:
        return []
    for template in {m["template"] for m in messages}:
        _require_template(template)
    domain = _message_id_domain(session)
    if any(not isinstance(m["subject"], str) for m in messages):
        org = session.get(Organization, 1)
        customer_locales = _locales_of(session, {m.get("customer_id") for m in messages})
        messages = [m if isinstance(m["subject"], str) else
                    {**m, "subject": _written(m["subject"], _reader_locale(
                        m["to"], m.get("customer_id"), org, customer_locales), org)}
                    for m in messages]
    rows = [{"template": m["template"], "to_address": m["to"], "subject": m["subject"],
             "context": m["context"], "reply_to": m.get("reply_to"),
             "customer_id": m.get("customer_id"), "status": PENDING, "attempts": 0,
             "message_id_header": make_msgid(domain=domain), "created_at": now}
            for m in messages]
    ids = bulk.insert_ids(session, OutboxMessage.__table__, rows)
    session.info.setdefault(WRITTEN_IDS, []).extend(ids)
    return ids


def _require_template(template: str) -> None:
    for suffix in ("txt", "html"):
        if not (WEBAPP_DIR / "templates" / "mail" / f"{template}.{suffix}").is_file():
            raise ValueError(f"no mail template mail/{template}.{suffix}")


def take_written_ids(session: Session) -> list[int]:
    """The ids `enqueue` wrote in this session since the last call (call after commit)."""
    return session.info.pop(WRITTEN_IDS, [])


@event.listens_for(OrmSession, "after_rollback")
def _forget_rolled_back_rows(session: OrmSession) -> None:
    # Rows written before a rollback no longer exist: nothing to dispatch for them.
    session.info.pop(WRITTEN_IDS, None)


def _claimable(now: datetime):
    """Rows a sender may take: pending, or sending with an expired lease."""
    return or_(OutboxMessage.status == PENDING,
               and_(OutboxMessage.status == SENDING, OutboxMessage.lease_until < now))


def _claim_values(now: datetime, lease_seconds: int) -> dict[str, Any]:
    return {"status": SENDING, "lease_until": now + timedelta(seconds=lease_seconds),
            "attempts": OutboxMessage.attempts + 1}


def claim(session: Session, *, message_id: int, now: datetime, lease_seconds: int) -> bool:
    """Take the row for sending (pending, or sending with an expired lease); only one wins."""
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, _claimable(now))
        .values(**_claim_values(now, lease_seconds))
        .execution_options(synchronize_session=False))
    return result.rowcount == 1


def claim_many(session: Session, *, message_ids: Sequence[int], now: datetime,
               lease_seconds: int) -> list[int]:
    """`claim` for several rows with one guarded update; the ids this sender won, in order."""
    if not message_ids:
        return []
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(sorted(set(message_ids))), _claimable(now))
        .values(**_claim_values(now, lease_seconds))
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False))
    return sorted(result.scalars())


def send(session: Session, *, message_id: int, now: datetime, smtp: Mailer,
         base_url: str = "", attach: Attach | None = None, paths: Paths | None = None) -> bool:
    """Render and send a claimed row, then mark it sent; False (nothing sent) if not claimed."""
    row = session.get(OutboxMessage, message_id, populate_existing=True)
    if row is None or row.status != SENDING:
        return False
    smtp.send(build_message(session, row, mail_from=smtp.mail_from, now=now, base_url=base_url,
                            attach=attach, paths=paths))
    _mark_sent(session, [message_id], now=now)
    return True


@dataclass(frozen=True)
class BatchResult:
    """What `send_many` did with each claimed row it was given."""

    sent: tuple[int, ...] = ()
    failed: tuple[int, ...] = ()  # their send raised: released (pending again, or failed)
    returned: tuple[int, ...] = ()  # not tried, the time budget was spent: pending again


def send_many(session: Session, *, message_ids: Sequence[int], now: datetime, smtp: Mailer,
              base_url: str = "", budget_seconds: float | None = None,
              attach: Attach | None = None, paths: Paths | None = None) -> BatchResult:
    """Render and send several claimed rows over one mail connection, then mark the sent ones
    with one update. A row whose render or send raises is released on its own (as `release`)
    and the next one is still sent. Ids that are not claimed (not "sending") are skipped.

    Once `budget_seconds` have passed, the rows not tried yet are handed back untouched
    (pending, their claim's attempt undone) for the sweep: a slow server must not keep a
    batch past its lease, or the sweep would hand its rows to a second sender.
    """
    rows = session.exec(
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(sorted(set(message_ids))), OutboxMessage.status == SENDING)
        .order_by(OutboxMessage.id)
        .execution_options(populate_existing=True)).all()
    org = session.get(Organization, 1)  # once per batch
    logo = brand.logo(session)  # once per batch, too
    customer_locales = _customer_locales(session, rows)
    started = time.monotonic()
    sent: list[int] = []
    failed: list[tuple[int, str]] = []
    returned: list[int] = []
    with connection(smtp) as deliver:
        for row in rows:
            if (budget_seconds is not None and (sent or failed)
                    and time.monotonic() - started > budget_seconds):
                returned.append(row.id)
                continue
            try:
                if row.attachment_kind:
                    # Rendering the document reads the database: a savepoint keeps a failed
                    # read from aborting the batch's transaction (PostgreSQL).
                    with session.begin_nested():
                        message = _compose(session, row, org, mail_from=smtp.mail_from,
                                           now=now, base_url=base_url, attach=attach,
                                           paths=paths, logo=logo,
                                           locale=_locale(row, org, customer_locales))
                else:
                    message = _compose(session, row, org, mail_from=smtp.mail_from, now=now,
                                       base_url=base_url, attach=attach, paths=paths,
                                       logo=logo, locale=_locale(row, org, customer_locales))
                deliver(message)
            except Exception as exc:  # noqa: BLE001 - any failure releases this row alone
                failed.append((row.id, repr(exc)))
            else:
                sent.append(row.id)
    _mark_sent(session, sent, now=now)
    for message_id, error in failed:
        release(session, message_id=message_id, error=error)
    _hand_back(session, returned)
    return BatchResult(tuple(sent), tuple(i for i, _ in failed), tuple(returned))


def _mark_sent(session: Session, message_ids: Sequence[int], *, now: datetime) -> None:
    if not message_ids:
        return
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(message_ids), OutboxMessage.status == SENDING)
        .values(status=SENT, sent_at=now, lease_until=None, last_error=None)
        .execution_options(synchronize_session=False))


def _hand_back(session: Session, message_ids: Sequence[int]) -> None:
    """Rows claimed but never tried: pending again, without counting the claim as an attempt."""
    if not message_ids:
        return
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(message_ids), OutboxMessage.status == SENDING)
        .values(status=PENDING, lease_until=None, attempts=OutboxMessage.attempts - 1)
        .execution_options(synchronize_session=False))


def release(session: Session, *, message_id: int, error: str) -> None:
    """After a failed send: back to pending for the next try, or failed after MAX_ATTEMPTS."""
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == SENDING)
        .values(status=FAILED if _attempts(session, message_id) >= MAX_ATTEMPTS else PENDING,
                lease_until=None, last_error=error[:2000])
        .execution_options(synchronize_session=False))


def sweep(session: Session, *, now: datetime) -> list[int]:
    """Ids to dispatch again: pending rows, and rows whose sender's lease has run out."""
    return list(session.exec(
        select(OutboxMessage.id)
        .where(or_(OutboxMessage.status == PENDING,
                   and_(OutboxMessage.status == SENDING, OutboxMessage.lease_until < now)))
        .order_by(OutboxMessage.id)
        .limit(SWEEP_BATCH)))


def build_message(session: Session, row: OutboxMessage, *, mail_from: str,
                  now: datetime, base_url: str = "", attach: Attach | None = None,
                  paths: Paths | None = None) -> EmailMessage:
    """The email for a row: plain text and HTML, from the organization, with the row's id."""
    org = session.get(Organization, 1)
    return _compose(session, row, org, mail_from=mail_from, now=now,
                    base_url=base_url, attach=attach, paths=paths,
                    logo=brand.logo(session), locale=_locale(row, org, _customer_locales(session, [row])))


def _customer_locales(session: Session, rows: Sequence[OutboxMessage]) -> dict[int, str | None]:
    """The own locale (or None) of each customer the rows are written for: one statement."""
    return _locales_of(session, {row.customer_id for row in rows})


def _locales_of(session: Session, customer_ids: set[int | None]) -> dict[int, str | None]:
    ids = {customer_id for customer_id in customer_ids if customer_id is not None}
    if not ids:
        return {}
    return dict(session.exec(select(Customer.id, Customer.locale)
                             .where(Customer.id.in_(sorted(ids)))).all())


def _locale(row: OutboxMessage, org: Organization | None,
            customer_locales: Mapping[int, str | None]) -> str | None:
    """A mail to a customer (or sent for one, a forwarded document) is written in their
    locale; one to the organization in its own (None)."""
    return _reader_locale(row.to_address, row.customer_id, org, customer_locales)


def _reader_locale(to: str, customer_id: int | None, org: Organization | None,
                   customer_locales: Mapping[int, str | None]) -> str | None:
    """The locale the mail's reader chose (a customer's own), None for the organization's.
    As chosen, not as formatted: "en_XA" writes its dates as "en" but its words in en_XA."""
    if customer_id is None or (org is not None and to == org.email):
        return None
    return customer_locales.get(customer_id)


def _written(subject: LazyProxy, own_locale: str | None, org: Organization | None) -> str:
    """A subject marked with i18n's `_`, as text in its reader's language (as the body's)."""
    with i18n.use_locale(languages.for_reader(own_locale, org.locale if org else None)):
        return str(subject)


def _compose(session: Session, row: OutboxMessage, org: Organization | None, *,
             mail_from: str, now: datetime, base_url: str,
             attach: Attach | None, paths: Paths | None = None,
             logo: brand.Image | None = None, locale: str | None = None) -> EmailMessage:
    # The logo travels inside the mail (a related part the HTML names by Content-ID), never
    # as a remote image: mail clients block those, and they would tell us who opened what.
    logo_cid = make_msgid("logo", domain=_domain_of(org)) if logo else None
    # Templates turn a context "path" into a link with the portal's public address; the
    # money and date filters write in `locale` (the reader's, formatted: "en_XA" as "en"),
    # the words are in `language` (the reader's: "en_XA" itself).
    org_locale = org.locale if org else None
    bodies = render(row.template, {**row.context, **_path(row, paths), "org": org,
                                   "base_url": base_url.rstrip("/"),
                                   "logo_cid": logo_cid[1:-1] if logo_cid else None,
                                   "locale": locales.for_customer(locale, org_locale),
                                   "language": languages.for_reader(locale, org_locale)})
    message = EmailMessage()
    message["Subject"] = row.subject
    message["From"] = formataddr((org.name, mail_from)) if org else mail_from
    message["To"] = row.to_address
    reply_to = row.reply_to or (org.email if org else None)
    if reply_to:
        message["Reply-To"] = reply_to
    message["Message-ID"] = row.message_id_header
    message["Date"] = format_datetime(now)
    message.set_content(bodies.text)
    message.add_alternative(bodies.html, subtype="html")
    if logo is not None:
        message.get_body(preferencelist=("html",)).add_related(
            logo.data, maintype="image", subtype=logo.content_type.partition("/")[2],
            cid=logo_cid, disposition="inline", filename=f"logo.{logo.extension}")
    if row.attachment_kind:
        # The sender brings the documents (the worker passes documents.sources.attachment):
        # the outbox sits below every feature and knows no document kinds.
        if attach is None:
            raise ValueError(f"message {row.id} attaches a {row.attachment_kind}; "
                             "send it with attach=")
        document = attach(session, kind=row.attachment_kind, document_id=row.attachment_id,
                          customer_id=row.customer_id, now=now)
        maintype, _, subtype = document.media_type.partition("/")
        message.add_attachment(document.content, maintype=maintype, subtype=subtype,
                               filename=document.filename)
    return message


def _attempts(session: Session, message_id: int) -> int:
    return session.exec(select(OutboxMessage.attempts)
                        .where(OutboxMessage.id == message_id)).one_or_none() or 0


def _message_id_domain(session: Session) -> str:
    return _domain_of(session.get(Organization, 1))


def _domain_of(org: Organization | None) -> str:
    domain = org.email.rpartition("@")[2] if org and "@" in org.email else ""
    return domain or "localhost"


def _path(row: OutboxMessage, paths: Paths | None) -> dict[str, str]:
    """{"path": ...} built from the row's link now; nothing for a row that has none (or was
    written with a "path" of its own, before links were kept as endpoints)."""
    target = (row.context or {}).get(PAGE)
    if not target:
        return {}
    if paths is None:
        raise ValueError(f"message {row.id} links to {target['endpoint']}; send it with paths=")
    return {"path": paths(target["endpoint"], target["values"])}
