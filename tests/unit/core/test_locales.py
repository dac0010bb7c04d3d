"""Which locale a customer's dates and amounts are written in, and where it is worked out:
the login statement, the documents, the mail."""

from __future__ import annotations

from datetime import date
from io import BytesIO

import pytest
from pypdf import PdfReader
from sqlmodel import select

from tests.factories import make_customer, make_invoice, make_subscription, moment_on
from tests.i18n.german import german
from webapp import demo
from webapp.models import OutboxMessage, User
from webapp.services.accounts import request_facts, sessions
from webapp.services.billing.context import confirm, context
from webapp.services.core import locales, outbox, pdf
from webapp.services.core.dates import Dated, dated
from webapp.services.core.money import Amount
from webapp.services.documents import sources


def test_a_customer_without_a_locale_reads_the_organizations():
    assert locales.for_customer(None, "en_GB") == "en_GB"


def test_a_customers_own_locale_wins_over_the_organizations():
    assert locales.for_customer("de_DE", "en_GB") == "de_DE"


def test_without_an_organization_the_default_is_en_us():
    assert locales.for_customer(None, None) == "en_US"


@pytest.mark.parametrize("value", ["", "  ", None])
def test_the_empty_choice_means_the_organizations_locale(value):
    assert locales.parse_choice(value) is None


def test_a_supported_locale_is_stored_as_babel_names_it():
    assert locales.parse_choice(" de_DE ") == "de_DE"


@pytest.mark.parametrize("value", ["xx_YY", "klingon", "de-DE-x-y", "pt_BR", "<b>"])
def test_an_unknown_or_unoffered_locale_is_refused_with_a_message(value):
    with pytest.raises(ValueError, match="Choose one of the languages and regions offered"):
        locales.parse_choice(value)


def test_the_choices_start_with_the_organizations_and_name_each_in_its_own_language():
    choices = locales.choices("en_GB")
    assert choices[0] == ("", "Same as the organization (en_GB)")
    assert ("de_DE", "Deutsch (Deutschland) (de_DE)") in choices
    # the supported locales, then the pseudo-locales whose catalogs are compiled
    assert [value for value, _ in choices[1:]] == list(locales.offered())
    assert locales.offered()[:len(locales.SUPPORTED_LOCALES)] == locales.SUPPORTED_LOCALES


def _login_id(session, user_id, now):
    started = sessions.start(session, user_id=user_id, method="password", ip="127.0.0.1",
                             user_agent="test", now=now)
    session.commit()
    return request_facts.login_id(user_id, 1, started.token)


@pytest.fixture
def seeded(session, now):
    result = demo.seed_demo(session, now=now)
    session.commit()
    return result


def _user_id(session, email):
    return session.exec(select(User.id).where(User.email == email)).one()


def test_the_login_statement_brings_the_customers_own_locale(session, seeded, now):
    facts = request_facts.for_login(session, _login_id(session, _user_id(session, demo.OMAR[0]),
                                                       now))
    assert (facts.customer_locale, facts.locale) == ("de_DE", "de_DE")


def test_a_customer_without_a_locale_logs_in_with_the_organizations(session, seeded, now):
    facts = request_facts.for_login(session, _login_id(session, _user_id(session, demo.JANE[0]),
                                                       now))
    assert (facts.customer_locale, facts.locale) == (None, "en_GB")


def test_an_admin_logs_in_with_the_organizations_locale(session, seeded, now):
    facts = request_facts.for_login(session, _login_id(session, _user_id(session, demo.ADMIN[0]),
                                                       now))
    assert facts.locale == "en_GB"


@pytest.fixture
def three_customers(session, now):
    """The same $138.80 invoice for an en_US, an en_GB (the organization's) and a de_DE
    customer of the UK demo organization."""
    demo.seed_organization(session, now=now)
    made = {}
    for locale in ("en_US", None, "de_DE"):
        customer = make_customer(session, now=now, email=f"{locale or 'org'}@example.com")
        customer.locale = locale
        made[locale or "en_GB"] = (customer, make_invoice(session, customer=customer, now=now,
                                                          amount=13880))
    session.commit()
    return made


EXPECTED = {"en_US": ("$138.80", "Nov 26, 2026"), "en_GB": ("US$138.80", "26 Nov 2026"),
            "de_DE": ("138,80\xa0$", "26.11.2026")}


def _text(document) -> str:
    reader = PdfReader(BytesIO(document.content))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


@pytest.mark.parametrize("locale", sorted(EXPECTED))
def test_an_invoice_pdf_is_written_in_its_customers_locale(session, now, three_customers,
                                                          locale):
    customer, invoice = three_customers[locale]
    document = sources.invoice_pdf(session, customer_id=customer.id, invoice_id=invoice.id,
                                   at=moment_on(now.date(), now))
    text = _text(document)
    amount, day = EXPECTED[locale]
    assert amount.replace("\xa0", " ") in text.replace("\xa0", " ")
    assert day in text


def test_a_document_without_a_customer_uses_the_organizations_locale(session, now):
    org = demo.seed_organization(session, now=now)
    assert pdf.document_locale({"org": org}) == "en_GB"


class _Mailer:
    mail_from = "portal@example.com"

    def __init__(self) -> None:
        self.sent = []

    def send(self, message) -> None:
        self.sent.append(message)


@pytest.mark.parametrize("locale", sorted(EXPECTED))
def test_an_invoice_email_is_written_in_its_customers_locale(session, now, three_customers,
                                                            service_catalogs, locale):
    service_catalogs.write("de", {})  # its words in German too: <html lang="de-DE">
    customer, invoice = three_customers[locale]
    row = outbox.enqueue(session, template="invoice_issued", to=customer.email,
                         subject="Invoice", customer_id=customer.id, now=now,
                         context={"name": "Kim", "number": invoice.number,
                                  "amount": invoice.total, "currency": invoice.currency,
                                  "due_date": invoice.due_date.isoformat(),
                                  "page": outbox.page("invoices.detail", invoice_id=invoice.id)})
    message = outbox.build_message(session, row, mail_from="portal@example.com", now=now,
                                   paths=lambda endpoint, values: "/invoices/1")
    text = message.get_body(preferencelist=("plain",)).get_content()
    amount, _ = EXPECTED[locale]
    due = {"en_US": "Dec 10, 2026", "en_GB": "10 Dec 2026", "de_DE": "10.12.2026"}[locale]
    assert f"for {amount} is ready" in text
    assert f"due on {due}" in text
    html = message.get_body(preferencelist=("html",)).get_content()
    assert f'<html lang="{locale.replace("_", "-")}" dir="ltr">' in html


def test_a_mail_to_the_organization_about_a_customer_is_in_the_organizations_locale(
        session, now, three_customers):
    customer, invoice = three_customers["de_DE"]
    org = demo.seed_organization(session, now=now)
    row = OutboxMessage(template="invoice_issued", to_address=org.email, subject="x",
                        customer_id=customer.id, message_id_header="<x@example.com>",
                        context={"name": "Kim", "number": invoice.number,
                                 "amount": invoice.total, "currency": "USD",
                                 "due_date": "2026-12-10", "path": "/invoices/1"}, created_at=now)
    message = outbox.build_message(session, row, mail_from="portal@example.com", now=now)
    assert "for US$138.80 is ready" in message.get_body(preferencelist=("plain",)).get_content()


def test_a_mail_written_before_amounts_were_numbers_shows_its_text(session, now, three_customers):
    customer, invoice = three_customers["de_DE"]
    row = OutboxMessage(template="invoice_issued", to_address=customer.email, subject="x",
                        customer_id=customer.id, message_id_header="<y@example.com>",
                        context={"name": "Kim", "number": invoice.number,
                                 "amount": "US$138.80", "due_date": "2026-12-10",
                                 "path": "/invoices/1"},
                        created_at=now)
    message = outbox.build_message(session, row, mail_from="portal@example.com", now=now)
    # Kim (de_DE) reads German words around the stored text and a German date
    assert german(_INVOICE_READY, number=invoice.number, amount="US$138.80",
                  date="10.12.2026") in message.get_body(preferencelist=("plain",)).get_content()


_INVOICE_READY = ("Invoice %(number)s for %(amount)s is ready. It is due on %(date)s; you can "
                  "view and pay it in the portal:")


def test_a_dated_message_with_an_amount_survives_json_and_is_written_in_any_locale():
    message = dated("%(amount)s is due on %(on)s.", amount=Amount(13880, "USD"),
                    on=date(2026, 12, 10))
    again = Dated.from_json(message.as_json())
    assert again == message
    assert again.format("de_DE") == "138,80\xa0$ is due on 10.12.2026."
    assert again.format("en_US") == "$138.80 is due on Dec 10, 2026."


def test_a_subscription_confirmation_mail_is_written_in_the_customers_locale(session, now):
    demo.seed_organization(session, now=now)
    customer = make_customer(session, now=now, email="de@example.com")
    customer.locale = "de_DE"
    sub = make_subscription(session, customer=customer, now=now)
    ctx = context(session, now)
    confirm(ctx, sub, event="subscription_changed",
            subject=dated("Ends on %(on)s", on=now.date()),
            message=dated("Your trial now runs until %(on)s.", on=now.date()),
            details=[dated("Each term now costs %(price)s.", price=Amount(13880, "USD"))],
            org_title="x", org_body="y")
    row = session.exec(select(OutboxMessage).where(
        OutboxMessage.template == "subscription_update")).one()
    message = outbox.build_message(session, row, mail_from="portal@example.com", now=now,
                                   paths=lambda endpoint, values: "/subscriptions/1")
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert message["Subject"] == german("Ends on %(on)s", on="26.11.2026")
    assert german("Your trial now runs until %(on)s.", on="26.11.2026") in text
    assert german("Each term now costs %(price)s.", price="138,80\xa0$") in text
