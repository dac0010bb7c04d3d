"""Which language a reader's words are in (webapp/languages.py), the page's <html lang dir>,
and the footer's language switcher (POST /language).

The demo organization writes in en_GB; Jane has no locale of her own, Omar has de_DE. The
German here is a tiny catalog written at test time (tests/i18n/catalogs.py)."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from tests.conftest import Auth, csrf_token_from
from tests.i18n.catalogs import GERMAN
from webapp import demo
from webapp.db import db
from webapp.languages import COOKIE
from webapp.models import AuditEntry, Customer, Organization, User
from webapp.services.core import languages, pdf

HTML = re.compile(r'<html lang="([^"]+)" dir="([^"]+)"')
SWITCHER = 'action="/language"'


def _html_tag(page) -> tuple[str, str]:
    match = HTML.search(page.get_data(as_text=True))
    assert match, "the page has no <html lang dir>"
    return match.group(1), match.group(2)


def _german(page) -> bool:
    html = page.get_data(as_text=True)
    return "Sprache ändern" in html


def _set(app, model, row_id, **values) -> None:
    with app.app_context():
        row = db.session.get(model, row_id)
        for name, value in values.items():
            setattr(row, name, value)
        db.session.commit()


def _user_id(app, email: str) -> int:
    with app.app_context():
        return db.session.exec(select(User.id).where(User.email == email)).one()


def _customer(app, customer_id: int) -> Customer:
    with app.app_context():
        return db.session.get(Customer, customer_id)


def _switch(client, language: str, *, page: str = "/login", htmx: bool = False, **extra):
    token = csrf_token_from(client.get(page).get_data(as_text=True))
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post("/language", data={"language": language, "csrf_token": token,
                                          "next": page, **extra}, headers=headers)


@pytest.fixture
def german(catalogs):
    catalogs.write("de", GERMAN)
    return catalogs


# -- The languages ----------------------------------------------------------------------------

def test_english_is_always_available_and_the_others_once_compiled(app, catalogs):
    assert languages.available() == ("en",)
    catalogs.write("fr", {})
    catalogs.write("ar_XB", {})
    assert languages.available() == ("en", "fr", "ar_XB")
    assert languages.language_of("fr_FR") == "fr" and languages.language_of("de_DE") is None
    assert languages.language_of("ar_XB") == "ar_XB" and languages.language_of("ar_EG") is None
    assert languages.for_reader("nl_NL", "fr_FR") == "fr"
    assert languages.for_reader(None, "nl_NL") == "en"


def test_directions_and_html_lang_tags():
    assert [languages.text_direction(c) for c in ("ar", "ar_XB", "he-IL", "en_XA", "de")] == \
        ["rtl", "rtl", "rtl", "ltr", "ltr"]
    assert languages.html_lang("de", "de_DE") == "de-DE"
    assert languages.html_lang("en", "de_DE") == "en"  # English words, German numbers
    assert languages.html_lang("fr", None) == "fr"
    assert languages.html_lang("en_XA", "en") == "en-XA"
    assert languages.NAMES["de"] == "Deutsch" and languages.NAMES["fr"] == "Français"


# -- Before sign-in ---------------------------------------------------------------------------

def test_without_catalogs_english_in_the_organizations_region_and_no_switcher(
        client, seeded, catalogs):
    page = client.get("/login", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert _html_tag(page) == ("en-GB", "ltr")
    assert SWITCHER not in page.get_data(as_text=True)


def test_a_visitor_reads_their_browsers_language(client, seeded, german):
    page = client.get("/login", headers={"Accept-Language": "de-CH,de;q=0.9,en;q=0.5"})
    assert _german(page) and _html_tag(page) == ("de", "ltr")
    assert "Accept-Language" in page.headers.get("Vary", "")
    html = page.get_data(as_text=True)
    assert '<option value="de" lang="de" selected>Deutsch</option>' in html
    assert '<option value="en" lang="en">English</option>' in html


@pytest.mark.parametrize("header", ["nl-NL,nl;q=0.9", "fr-FR", None])
def test_else_the_organizations_language(client, seeded, german, header):
    headers = {"Accept-Language": header} if header else {}
    page = client.get("/login", headers=headers)
    assert not _german(page) and _html_tag(page) == ("en-GB", "ltr")
    assert "Change language" in page.get_data(as_text=True)


def test_the_organizations_language_when_it_has_a_catalog(app, client, seeded, german):
    _set(app, Organization, 1, locale="de_DE")
    page = client.get("/login")
    assert _german(page) and _html_tag(page) == ("de-DE", "ltr")


@pytest.mark.parametrize("htmx", [False, True])
def test_a_visitors_choice_is_kept_in_a_cookie_and_beats_the_browser(client, seeded, german,
                                                                    htmx):
    response = _switch(client, "de", htmx=htmx)
    if htmx:
        assert response.status_code == 200 and response.headers["HX-Redirect"] == "/login"
    else:
        assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert client.get_cookie(COOKIE).value == "de"
    page = client.get("/login", headers={"Accept-Language": "en-US"})
    assert _german(page) and _html_tag(page) == ("de", "ltr")
    back = _switch(client, "en")
    assert back.status_code == 303 and client.get_cookie(COOKIE).value == "en"
    assert not _german(client.get("/login", headers={"Accept-Language": "de"}))


def test_a_bad_language_is_refused_and_changes_nothing(client, seeded, german):
    response = _switch(client, "xx")
    assert response.status_code == 400
    assert "Choose one of the languages offered." in response.get_data(as_text=True)
    assert client.get_cookie(COOKIE) is None
    assert _switch(client, "").status_code == 400
    assert _switch(client, "de_DE").status_code == 400  # a language, not a locale
    assert client.get_cookie(COOKIE) is None


def test_the_refusal_is_in_the_readers_language(client, seeded, german):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/language", data={"language": "xx", "csrf_token": token},
                           headers={"Accept-Language": "de"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "Wählen Sie eine der angebotenen Sprachen." in html
    assert "Sprache nicht verfügbar" in html


def test_the_switcher_needs_the_forms_csrf_token(client, seeded, german):
    response = client.post("/language", data={"language": "de", "next": "/login"})
    assert response.status_code == 400 and client.get_cookie(COOKIE) is None


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/x", "login"])
def test_it_goes_back_only_to_a_page_of_this_site(client, seeded, german, target):
    response = _switch(client, "de", next=target)
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_without_next_it_goes_back_to_the_referring_page(client, seeded, german):
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/language", data={"language": "de", "csrf_token": token},
                           headers={"Referer": "http://localhost/password/forgot?x=1"})
    assert response.headers["Location"] == "/password/forgot?x=1"
    response = client.post("/language", data={"language": "de", "csrf_token": token},
                           headers={"Referer": "http://evil.example/password/forgot"})
    assert response.headers["Location"] == "/"


def test_the_form_works_without_javascript(client, seeded, german):
    html = client.get("/login").get_data(as_text=True)
    form = html[html.index(SWITCHER) - 60:]
    form = form[:form.index("</form>")]
    assert 'method="post"' in form and 'name="csrf_token"' in form
    assert '<select id="language-choice" name="language"' in form
    assert '<input type="hidden" name="next" value="/login">' in form
    assert 'type="submit"' in form and "hx-" not in form
    assert 'for="language-choice"' in form


# -- Signed-in customers ----------------------------------------------------------------------

def test_a_customer_reads_their_own_locales_language(client, seeded, german):
    Auth(client).login(*demo.OMAR)
    page = client.get("/", headers={"Accept-Language": "en-US"})  # the browser has no say
    assert _german(page) and _html_tag(page) == ("de-DE", "ltr")


def test_a_customer_without_one_reads_the_organizations(app, client, seeded, german):
    auth = Auth(client)
    auth.login(*demo.JANE)
    page = client.get("/", headers={"Accept-Language": "de"})
    assert not _german(page) and _html_tag(page) == ("en-GB", "ltr")
    _set(app, Organization, 1, locale="de_DE")
    page = client.get("/")
    assert _german(page) and _html_tag(page) == ("de-DE", "ltr")


def test_a_customer_locale_without_a_catalog_reads_the_organizations_language(
        app, client, seeded, german):
    _set(app, Customer, seeded.omar_customer_id, locale="nl_NL")
    Auth(client).login(*demo.OMAR)
    page = client.get("/")
    assert not _german(page) and _html_tag(page) == ("en", "ltr")  # Dutch numbers, English


@pytest.mark.parametrize("htmx", [False, True])
def test_a_customers_choice_is_their_locale(app, client, seeded, german, htmx):
    Auth(client).login(*demo.JANE)
    page = client.get("/invoices")
    assert "how dates and amounts are written for you" in page.get_data(as_text=True)
    response = _switch(client, "de", page="/invoices", htmx=htmx)
    assert response.status_code == (200 if htmx else 303)
    assert _customer(app, seeded.jane_customer_id).locale == "de_DE"  # numbers too
    page = client.get("/invoices")
    assert _german(page) and _html_tag(page) == ("de-DE", "ltr")
    with app.app_context():
        entry = db.session.exec(select(AuditEntry).where(
            AuditEntry.customer_id == seeded.jane_customer_id)).one()
        assert (entry.action, entry.before, entry.after) == (
            "profile.update", {"locale": None}, {"locale": "de_DE"})
    _switch(client, "en", page="/invoices")  # the organization's language again
    assert _customer(app, seeded.jane_customer_id).locale is None


def test_a_customer_already_reading_the_language_keeps_their_locale(app, client, seeded,
                                                                    german):
    _set(app, Customer, seeded.jane_customer_id, locale="en_AU")
    Auth(client).login(*demo.JANE)
    assert _switch(client, "en", page="/").status_code == 303
    assert _customer(app, seeded.jane_customer_id).locale == "en_AU"  # Australian dates kept
    with app.app_context():
        assert db.session.exec(select(AuditEntry)).all() == []


def test_the_customers_profile_sets_the_same_locale(app, client, seeded, german):
    Auth(client).login(*demo.JANE)
    token = csrf_token_from(client.get("/profile").get_data(as_text=True))
    jane = _customer(app, seeded.jane_customer_id)
    response = client.post("/profile/details", data={
        "display_name": jane.display_name, "company": jane.company, "phone": jane.phone,
        "billing_address": jane.billing_address, "shipping_address": jane.shipping_address,
        "tax_id": jane.tax_id, "locale": "de_DE", "csrf_token": token})
    assert response.status_code == 303
    page = client.get("/profile")
    assert _german(page) and _html_tag(page) == ("de-DE", "ltr")
    assert '<option value="de" lang="de" selected>Deutsch</option>' in page.get_data(
        as_text=True)


def test_the_admin_sets_a_customers_language_on_their_form(app, client, seeded, german):
    admin = app.test_client()
    Auth(admin).login(*demo.ADMIN)
    cid = seeded.jane_customer_id
    c = _customer(app, cid)
    url = f"/admin/customers/{cid}/edit"
    token = csrf_token_from(admin.get(url).get_data(as_text=True))
    response = admin.post(url, data={
        "display_name": c.display_name, "company": c.company, "email": c.email,
        "phone": c.phone, "currency": c.currency, "tax_id": c.tax_id,
        "billing_address": c.billing_address, "shipping_address": c.shipping_address,
        "locale": "de_DE", "country": c.country, "region": c.region,
        "tax_exempt_reason": c.tax_exempt_reason, "csrf_token": token})
    assert response.status_code == 303
    Auth(client).login(*demo.JANE)
    assert _german(client.get("/"))


# -- Signed-in admins -------------------------------------------------------------------------

def test_an_admin_reads_their_own_locale_else_the_organizations(app, client, seeded, german):
    Auth(client).login(*demo.ADMIN)
    page = client.get("/admin/", headers={"Accept-Language": "de"})
    assert not _german(page) and _html_tag(page) == ("en-GB", "ltr")
    _set(app, User, _user_id(app, demo.ADMIN[0]), locale="de")
    page = client.get("/admin/")
    assert _german(page) and _html_tag(page) == ("de", "ltr")  # the organization's numbers
    assert "how dates and amounts are written for you" not in page.get_data(as_text=True)


@pytest.mark.parametrize("htmx", [False, True])
def test_an_admins_choice_is_their_own_locale(app, client, seeded, german, htmx):
    Auth(client).login(*demo.ADMIN)
    admin_id = _user_id(app, demo.ADMIN[0])
    response = _switch(client, "de", page="/admin/customers", htmx=htmx)
    assert response.status_code == (200 if htmx else 303)
    with app.app_context():
        assert db.session.get(User, admin_id).locale == "de_DE"
    page = client.get("/admin/customers")
    # de_DE: the admin's dates and amounts are German too, as a customer's are
    assert _german(page) and _html_tag(page) == ("de-DE", "ltr")
    _switch(client, "en", page="/admin/customers")
    with app.app_context():
        assert db.session.get(User, admin_id).locale is None


def test_an_admin_reading_a_customers_document_keeps_their_words(app, client, seeded, german):
    """The admin's page about Omar's subscription writes his dates and amounts, in the
    admin's words."""
    Auth(client).login(*demo.ADMIN)
    html = client.get(f"/admin/customers/{seeded.omar_customer_id}").get_data(as_text=True)
    assert "€" in html  # his figures, as he reads them ("20,40 €")
    assert HTML.search(html).groups() == ("en", "ltr")


# -- Right to left ----------------------------------------------------------------------------

def test_a_right_to_left_language_sets_dir(app, client, seeded, catalogs):
    catalogs.write("ar_XB", {"Change language": "\u202eChange language\u202c"})
    _set(app, Customer, seeded.omar_customer_id, locale="ar_XB")
    Auth(client).login(*demo.OMAR)
    page = client.get("/")
    assert page.status_code == 200 and _html_tag(page) == ("ar-XB", "rtl")
    assert "\u202eChange language\u202c" in page.get_data(as_text=True)
    assert client.get("/profile").status_code == 200  # its locale select offers it


# -- Documents and mail -----------------------------------------------------------------------

def test_documents_and_mail_say_their_readers_language(app, seeded, german):
    class Org:
        locale = "en_GB"

    class Omar:
        locale = "de_DE"

    html = '<html lang="{{ document_lang() }}" dir="{{ document_dir() }}">'
    from webapp.services.core import mail

    for env in (pdf.environment(), mail.environment()):
        template = env.from_string(html)
        assert template.render(org=Org(), customer=Omar(), locale="de_DE") == \
            '<html lang="de-DE" dir="ltr">'
        assert template.render(org=Org(), customer=None, locale="en_GB") == \
            '<html lang="en-GB" dir="ltr">'
        assert template.render(org=Org(), locale="de_DE") == '<html lang="de-DE" dir="ltr">'
        assert template.render(org=Org(), locale="de_DE", language="en") == \
            '<html lang="en" dir="ltr">'


def test_next_keeps_the_script_root_of_a_mounted_portal(client, seeded, german):
    html = client.get("/login?next=/invoices", base_url="http://localhost/portal").get_data(
        as_text=True)
    assert '<input type="hidden" name="next" value="/portal/login?next=/invoices">' in html
