"""The message a page that needs a sign-in flashes is in the visitor's language (Flask-Login's
`localize_callback`), taken here from the real German catalog."""

from __future__ import annotations

from tests.i18n.german import german


def test_a_german_visitor_is_asked_to_sign_in_in_german(client, seeded):
    asked = german("Please log in to continue.")
    assert asked != "Please log in to continue."

    page = client.get("/invoices", headers={"Accept-Language": "de"}, follow_redirects=True)

    assert asked in page.get_data(as_text=True)


def test_an_english_visitor_reads_it_in_english(client, seeded):
    page = client.get("/invoices", headers={"Accept-Language": "en"}, follow_redirects=True)

    assert "Please log in to continue." in page.get_data(as_text=True)
