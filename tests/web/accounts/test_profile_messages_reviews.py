"""Profile, Send us an email and Reviews in the portal (htmx and plain forms)."""

from __future__ import annotations

from io import BytesIO

from sqlmodel import select

from tests.conftest import csrf_token_from, post_form
from tests.web.engagement_support import ContactPerson, mails, set_preference
from webapp.db import db
from webapp.models import Customer, Review

DETAILS = {"display_name": "Jane Cooper", "company": "Cooper Design Studio",
           "phone": "+1 415 555 0134",
           "billing_address": "500 Market St\nSan Francisco, CA 94105\nUSA",
           "shipping_address": "", "tax_id": ""}
PDF = b"%PDF-1.4\n%test\n"


def _customer(app, customer_id) -> Customer:
    with app.app_context():
        return db.session.get(Customer, customer_id)


def test_saving_details_with_htmx_swaps_the_details_and_says_what_changed(app, client, auth,
                                                                          seeded):
    auth.login()
    response = post_form(client, "/profile/details", {**DETAILS, "tax_id": "gb123456789"},
                         htmx=True, token_from="/profile")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<section id="profile-details"')
    assert "Saved: Tax ID." in html and 'value="GB123456789"' in html
    assert _customer(app, seeded.jane_customer_id).tax_id == "GB123456789"
    assert len(mails(app)) == 1


def test_saving_details_without_htmx_redirects_with_a_flash(app, client, auth, seeded):
    auth.login()
    response = post_form(client, "/profile/details", {**DETAILS, "phone": "+1 415 555 0100"},
                         token_from="/profile")
    assert response.status_code == 303 and response.headers["Location"] == "/profile"
    assert "Saved: Phone." in client.get("/profile").get_data(as_text=True)


def test_bad_details_show_each_message_next_to_its_field_and_save_nothing(app, client, auth,
                                                                          seeded):
    auth.login()
    bad = {**DETAILS, "company": "Cooper & Co", "phone": "call me", "tax_id": "12"}
    for htmx in (True, False):
        response = post_form(client, "/profile/details", bad, htmx=htmx, token_from="/profile")
        html = response.get_data(as_text=True)
        assert response.status_code == 422
        assert 'id="phone-errors"' in html and 'id="tax_id-errors"' in html
        assert 'value="Cooper &amp; Co"' in html  # what was typed is kept
    assert _customer(app, seeded.jane_customer_id).company == "Cooper Design Studio"
    assert mails(app) == []


def test_with_updates_off_the_profile_is_read_only_and_posts_are_not_found(app, client, auth,
                                                                           seeded):
    set_preference(app, update_customer_details=False)
    auth.login()
    page = client.get("/profile").get_data(as_text=True)
    assert "Save details" not in page and "Cooper Design Studio" in page
    token = csrf_token_from(page)
    response = client.post("/profile/details", data={**DETAILS, "csrf_token": token})
    assert response.status_code == 404


def test_adding_a_contact_with_htmx_swaps_the_contact_list(app, client, auth, seeded):
    auth.login()
    response = post_form(client, "/profile/contacts", {"name": "Ravi Shah",
                                                       "email": "ravi@example.com",
                                                       "role": "technical"},
                         htmx=True, token_from="/profile")
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="profile-contacts"') and "Ravi Shah" in html


def test_a_bad_contact_without_htmx_shows_the_page_with_the_message(client, auth, seeded):
    auth.login()
    response = post_form(client, "/profile/contacts", {"name": "", "email": "nope",
                                                       "role": "billing"},
                         token_from="/profile")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "<html" in html
    assert 'id="name-errors"' in html and 'id="email-errors"' in html


def test_removing_a_contact_with_or_without_htmx(app, client, auth, seeded):
    with app.app_context():
        sam, priya = db.session.exec(select(ContactPerson).where(
            ContactPerson.customer_id == seeded.jane_customer_id)
            .order_by(ContactPerson.id)).all()[:2]
    auth.login()
    response = post_form(client, f"/profile/contacts/{sam.id}/remove", {}, htmx=True,
                         token_from="/profile")
    assert "Sam Lee" not in response.get_data(as_text=True)
    response = post_form(client, f"/profile/contacts/{priya.id}/remove", {},
                         token_from="/profile")
    assert response.status_code == 303
    assert response.headers["Location"] == "/profile#profile-contacts"


def test_editing_a_contact_saves_and_returns_to_the_profile(app, client, auth, seeded):
    with app.app_context():
        sam = db.session.exec(select(ContactPerson).where(
            ContactPerson.name == "Sam Lee")).one()
    auth.login()
    path = f"/profile/contacts/{sam.id}/edit"
    response = post_form(client, path, {"name": "Sam Lee", "email": "sam@example.com",
                                        "role": "other"})
    assert response.status_code == 303
    assert "sam@example.com" in client.get("/profile").get_data(as_text=True)


def _send(client, data, *, htmx=False, file=None):
    token = csrf_token_from(client.get("/messages/new").get_data(as_text=True))
    form = {"csrf_token": token, **data}
    if file is not None:
        form["attachment"] = file
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post("/messages/new", data=form, headers=headers,
                       content_type="multipart/form-data")


def test_sending_a_message_with_htmx_swaps_a_fresh_form(app, client, auth, seeded):
    auth.login()
    response = _send(client, {"subject": "Question", "body": "About my invoice."}, htmx=True,
                     file=(BytesIO(PDF), "scan.pdf"))
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<section id="message-form"')
    assert "on its way to Northwind Cloud Ltd" in html
    (mail,) = mails(app)
    assert (mail.to_address, mail.reply_to, mail.attachment_kind) == (
        "billing@northwind.example", "jane@example.com", "message_attachment")


def test_sending_a_message_without_htmx_redirects_with_a_flash(app, client, auth, seeded):
    auth.login()
    response = _send(client, {"subject": "Question", "body": "Hi"})
    assert response.status_code == 303
    assert "on its way" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_wrong_file_type_is_refused_next_to_the_field(app, client, auth, seeded):
    auth.login()
    response = _send(client, {"subject": "Question", "body": "Hi"}, htmx=True,
                     file=(BytesIO(b"GIF89a...."), "picture.png"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="attachment-errors"' in html
    assert "Attach a PDF, PNG or JPEG file." in html and "About" not in html
    assert mails(app) == []


def test_a_file_over_5_mb_is_refused_next_to_the_field(app, client, auth, seeded):
    auth.login()
    big = PDF + b"0" * (5 * 1024 * 1024)
    response = _send(client, {"subject": "Question", "body": "Hi"},
                     file=(BytesIO(big), "big.pdf"))
    assert response.status_code == 422
    assert "The file is larger than 5 MB." in response.get_data(as_text=True)
    assert mails(app) == []


def test_messages_are_rate_limited_per_login(app, client, auth, seeded):
    app.config["MESSAGE_RATE_LIMIT"] = "2 per hour"
    auth.login()
    codes = [_send(client, {"subject": "Hi", "body": "Hi"}).status_code for _ in range(3)]
    assert codes == [303, 303, 429]
    assert len(mails(app)) == 2


def test_the_dashboard_and_footer_link_to_send_us_an_email(client, auth, seeded):
    auth.login()
    assert client.get("/").get_data(as_text=True).count('href="/messages/new"') == 2


def test_a_review_with_htmx_swaps_the_section_with_it_listed(app, client, auth, seeded):
    auth.login()
    response = post_form(client, "/reviews", {"rating": "4", "body": "Quick and clear."},
                         htmx=True, token_from="/reviews")
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="review-section"')
    assert "Thank you for your review." in html and "Quick and clear." in html
    assert len(mails(app)) == 1


def test_a_review_without_htmx_redirects_with_a_flash(client, auth, seeded):
    auth.login()
    response = post_form(client, "/reviews", {"rating": "5", "body": ""}, token_from="/reviews")
    assert response.status_code == 303
    assert "Thank you for your review." in client.get("/reviews").get_data(as_text=True)


def test_a_review_without_a_rating_is_refused_next_to_the_rating(app, client, auth, seeded):
    auth.login()
    response = post_form(client, "/reviews", {"body": "No stars"}, htmx=True,
                         token_from="/reviews")
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="rating-errors"' in html
    with app.app_context():
        assert db.session.exec(select(Review).where(Review.body == "No stars")).first() is None


def test_reviews_switched_off_hide_the_entry_and_answer_404(app, client, auth, seeded):
    set_preference(app, reviews=False)
    auth.login()
    assert 'href="/reviews"' not in client.get("/").get_data(as_text=True)
    assert client.get("/reviews").status_code == 404
