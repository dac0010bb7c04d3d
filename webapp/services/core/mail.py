"""Rendering and transporting email: Jinja templates in webapp/templates/mail, smtplib.

No Flask here: the worker renders mail without an app, with a Jinja environment made on first
use. A mailer is anything with `mail_from` and `send(message)`; SMTP when SMTP_HOST is set,
otherwise the console (the embedded default). Both also open a `connection()` that sends
several messages over one SMTP session; `connection(mailer)` gives any mailer that shape.
"""

from __future__ import annotations

import smtplib
import ssl
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from email.message import EmailMessage
from functools import cache
from pathlib import Path
from typing import Any, Protocol, TextIO

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    pass_context,
    select_autoescape,
)

from webapp.services.core import i18n, languages, wording
from webapp.services.core.dates import DEFAULT_LOCALE, Dated, format_day
from webapp.services.core.money import format_money

WEBAPP_DIR = Path(__file__).resolve().parents[2]
SMTP_TIMEOUT_SECONDS = 30  # well inside the outbox lease, so a stuck server frees the row


class Mailer(Protocol):
    mail_from: str

    def send(self, message: EmailMessage) -> None: ...


@contextmanager
def connection(mailer: Mailer) -> Iterator[Callable[[EmailMessage], None]]:
    """A function sending one message at a time over one connection when the mailer has
    `connection()` (SMTP, console), or through its plain `send` otherwise."""
    opener = getattr(mailer, "connection", None)
    if opener is None:
        yield mailer.send
        return
    with opener() as conn:
        yield conn.send


def _locale(context) -> str | None:
    """The mail's `locale` (its customer's, set by the outbox), else the organization's."""
    org = context.get("org")
    return context.get("locale") or (org.locale if org else None)


@pass_context
def _localdate(context, value: date | datetime | str | None, fmt: str = "medium") -> str:
    """A date in a mail, as pages and PDFs show it: a mail's context is JSON, so its dates
    come as ISO strings ("2026-12-28"), formatted in the mail's locale."""
    org = context.get("org")
    return format_day(value, _locale(context), timezone=org.timezone if org else None, fmt=fmt)


@pass_context
def _money(context, amount: int | str | None, currency: str | None = None) -> str:
    """{{ amount|money(currency) }}: minor units in the mail's locale. A row written before
    amounts were kept as numbers carries the text it was written with: shown as it is."""
    if amount is None:
        return ""
    if isinstance(amount, str) or currency is None:
        return str(amount)
    return format_money(amount, currency, _locale(context) or DEFAULT_LOCALE)


@pass_context
def _say(context, message: dict | str | None) -> str:
    """{{ message|say }}: a service's message kept as JSON (`dates.as_json`), its dates and
    amounts written in the mail's locale; plain text as it is."""
    if isinstance(message, dict):
        return Dated.from_json(message).format(_locale(context))
    return message or ""


@cache
def environment() -> Environment:
    """The mail templates' environment: HTML escaped, text not, missing values an error."""
    env = i18n.TranslatedEnvironment(
        loader=FileSystemLoader([WEBAPP_DIR / "templates", WEBAPP_DIR]),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["localdate"] = _localdate
    env.filters["money"] = _money
    env.filters["say"] = _say
    env.filters["reword"] = wording.reword_now
    env.filters["device"] = wording.device_now
    languages.install(env)  # document_lang(), document_dir()
    i18n.install_jinja(env)  # {{ _("...") }}: in the mail's language (render's use_locale)
    return env


@dataclass(frozen=True)
class RenderedMail:
    text: str
    html: str


def render(template: str, context: Mapping[str, Any]) -> RenderedMail:
    """The plain-text and HTML bodies of mail/<template>.{txt,html}, their words in the
    mail's language: its `locale` (its reader's, set by the outbox), else the organization's."""
    env = environment()
    with i18n.use_locale(languages.reader_language(context)):
        return RenderedMail(text=env.get_template(f"mail/{template}.txt").render(context),
                            html=env.get_template(f"mail/{template}.html").render(context))


@dataclass(frozen=True)
class SmtpMailer:
    """Sends through an SMTP server, with STARTTLS or implicit TLS and a login if configured."""

    host: str
    port: int
    mail_from: str
    starttls: bool = False
    use_ssl: bool = False
    username: str | None = None
    password: str | None = None

    def send(self, message: EmailMessage) -> None:
        with self._open() as server:
            server.send_message(message)

    def connection(self) -> SmtpConnection:
        """Several messages over one SMTP session: `with mailer.connection() as c: c.send(m)`."""
        return SmtpConnection(self)

    def _open(self) -> smtplib.SMTP:
        """A connected server, after STARTTLS and login if configured."""
        if self.use_ssl:
            server = smtplib.SMTP_SSL(self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS,
                                      context=ssl.create_default_context())
        else:
            server = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS)
        try:
            if self.starttls and not self.use_ssl:
                server.starttls(context=ssl.create_default_context())
            if self.username:
                server.login(self.username, self.password or "")
        except BaseException:
            server.close()
            raise
        return server


# Refusals of one message: the SMTP session is still usable for the next (smtplib sent RSET).
_MESSAGE_REFUSED = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused,
                    smtplib.SMTPDataError, smtplib.SMTPNotSupportedError)
SERVICE_CLOSING = 421


@dataclass
class SmtpConnection:
    """One SMTP session for several messages, opened at the first send. A message the server
    refuses raises and the session goes on; any other error (the server went away, a timeout,
    421) raises and drops the session, and the next send opens a new one."""

    mailer: SmtpMailer
    opened: int = 0  # sessions opened so far
    _server: smtplib.SMTP | None = field(default=None, repr=False)

    @property
    def mail_from(self) -> str:
        return self.mailer.mail_from

    def send(self, message: EmailMessage) -> None:
        if self._server is None:
            self._server = self.mailer._open()
            self.opened += 1
        try:
            self._server.send_message(message)
        except _MESSAGE_REFUSED as exc:
            if getattr(exc, "smtp_code", None) == SERVICE_CLOSING:
                self._drop()
            raise
        except BaseException:
            self._drop()
            raise

    def close(self) -> None:
        if self._server is None:
            return
        try:
            self._server.quit()
        except (OSError, smtplib.SMTPException):
            pass
        finally:
            self._drop()

    def _drop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()

    def __enter__(self) -> SmtpConnection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass(frozen=True)
class ConsoleMailer:
    """Prints each message (headers and plain text) instead of sending it."""

    mail_from: str
    stream: TextIO | None = None

    def send(self, message: EmailMessage) -> None:
        out = self.stream or sys.stdout
        headers = "".join(f"{name}: {message[name]}\n"
                          for name in ("From", "To", "Reply-To", "Subject", "Message-ID")
                          if message[name])
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        out.write(f"----- mail (SMTP_HOST unset, not sent) -----\n{headers}\n{text}"
                  "----- end of mail -----\n")
        out.flush()

    @contextmanager
    def connection(self) -> Iterator[ConsoleMailer]:
        """As SmtpMailer's: several messages in a row (the console needs no session)."""
        yield self


def mailer_from_settings(settings: Mapping[str, Any]) -> Mailer:
    """SMTP from SMTP_HOST/PORT/STARTTLS/SSL/USERNAME/PASSWORD, or the console without a host."""
    if not settings.get("SMTP_HOST"):
        return ConsoleMailer(mail_from=settings["MAIL_FROM"])
    return SmtpMailer(host=settings["SMTP_HOST"], port=int(settings["SMTP_PORT"]),
                      mail_from=settings["MAIL_FROM"],
                      starttls=bool(settings.get("SMTP_STARTTLS")),
                      use_ssl=bool(settings.get("SMTP_SSL")),
                      username=settings.get("SMTP_USERNAME"),
                      password=settings.get("SMTP_PASSWORD"))
