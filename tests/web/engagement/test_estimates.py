"""Estimates in the portal: list, accept, decline, comments (htmx and plain forms), PDF."""

from __future__ import annotations

from tests.conftest import post_form
from tests.web.engagement_support import estimate, mails, set_preference


def _path(app, subject: str, suffix: str = "") -> str:
    return f"/estimates/{estimate(app, subject).id}{suffix}"


def test_the_list_filter_swaps_only_the_list_for_htmx(client, auth, seeded):
    auth.login()
    response = client.get("/estimates?status=expired", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="estimate-list"') and "<html" not in html
    assert "Brand refresh" in html and "Website redesign" not in html
    assert "HX-Request" in response.headers["Vary"]


def test_the_full_list_page_has_the_filter_and_every_estimate_but_drafts(client, auth, seeded):
    auth.login()
    page = client.get("/estimates").get_data(as_text=True)
    assert 'id="filter-status"' in page and "Logo package" in page
    assert "Mobile app prototype" not in page


def test_the_detail_shows_lines_totals_decision_and_thread(app, client, auth, seeded):
    auth.login()
    page = client.get(_path(app, "Website redesign")).get_data(as_text=True)
    assert "Discovery workshop" in page and "$9,960.00" in page
    assert "Accept estimate" in page and "Decline estimate" in page
    assert page.index("two rounds of revisions?") < page.index("Yes: two rounds")


def test_accepting_with_htmx_swaps_the_decision_box(app, client, auth, seeded):
    auth.login()
    path = _path(app, "Website redesign")
    response = post_form(client, f"{path}/accept", {}, htmx=True, token_from=path)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="estimate-decision"')
    assert "You accepted estimate" in html and "Accept estimate" not in html
    assert estimate(app, "Website redesign").status == "accepted"
    assert len(mails(app)) == 1


def test_accepting_without_htmx_redirects_to_the_estimate_with_a_flash(app, client, auth,
                                                                       seeded):
    auth.login()
    path = _path(app, "Website redesign")
    response = post_form(client, f"{path}/accept", {}, token_from=path)
    assert response.status_code == 303 and response.headers["Location"] == path
    assert "You accepted estimate" in client.get(path).get_data(as_text=True)


def test_accepting_an_expired_estimate_with_htmx_answers_a_clear_409(app, client, auth,
                                                                     seeded):
    auth.login()
    path = _path(app, "Brand refresh")
    response = post_form(client, f"{path}/accept", {}, htmx=True, token_from="/estimates")
    assert response.status_code == 409
    assert "has expired, so it can no longer be accepted" in response.get_data(as_text=True)
    assert estimate(app, "Brand refresh").status == "sent" and mails(app) == []


def test_accepting_a_declined_estimate_without_htmx_flashes_why_and_changes_nothing(
        app, client, auth, seeded):
    auth.login()
    path = _path(app, "Annual design retainer")
    response = post_form(client, f"{path}/accept", {}, token_from=path)
    assert response.status_code == 303
    assert "was already declined" in client.get(path).get_data(as_text=True)
    assert estimate(app, "Annual design retainer").status == "declined" and mails(app) == []


def test_an_expired_estimate_offers_no_decision(app, client, auth, seeded):
    auth.login()
    page = client.get(_path(app, "Brand refresh")).get_data(as_text=True)
    assert "expired on" in page and "Accept estimate" not in page


def test_declining_with_htmx_keeps_the_reason(app, client, auth, seeded):
    auth.login()
    path = _path(app, "Analytics dashboard")
    response = post_form(client, f"{path}/decline", {"reason": "Too early for us."},
                         htmx=True, token_from=path)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Reason given: Too early for us." in html
    assert estimate(app, "Analytics dashboard").decision_reason == "Too early for us."


def test_declining_without_htmx_redirects_with_a_flash(app, client, auth, seeded):
    auth.login()
    path = _path(app, "Analytics dashboard")
    response = post_form(client, f"{path}/decline", {"reason": ""}, token_from=path)
    assert response.status_code == 303
    assert "You declined estimate" in client.get(path).get_data(as_text=True)


def test_a_comment_with_htmx_comes_back_appended_to_the_thread(app, client, auth, seeded):
    auth.login()
    path = _path(app, "Website redesign")
    response = post_form(client, f"{path}/comments", {"body": "Can we start in January?"},
                         htmx=True, token_from=path)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<section id="comment-thread"')
    assert html.index("Yes: two rounds") < html.index("Can we start in January?")
    assert "<html" not in html and "</textarea>" in html  # a fresh, empty form
    assert mails(app) == []  # comments reach the admins' notifications, not their inbox


def test_a_comment_without_htmx_redirects_to_the_thread(app, client, auth, seeded):
    auth.login()
    path = _path(app, "Website redesign")
    response = post_form(client, f"{path}/comments", {"body": "Can we start in January?"},
                         token_from=path)
    assert response.status_code == 303
    assert response.headers["Location"] == f"{path}#comment-thread"
    assert "Can we start in January?" in client.get(path).get_data(as_text=True)


def test_an_empty_comment_shows_the_message_next_to_the_field(app, client, auth, seeded):
    auth.login()
    path = _path(app, "Website redesign")
    for htmx in (True, False):
        response = post_form(client, f"{path}/comments", {"body": " "}, htmx=htmx,
                             token_from=path)
        html = response.get_data(as_text=True)
        assert response.status_code == 422 and 'id="body-errors"' in html
        assert "Write a comment first." in html
        assert ("<html" in html) is not htmx


def test_the_thread_alone_for_htmx_or_a_redirect_to_it(app, client, auth, seeded):
    auth.login()
    path = _path(app, "Website redesign")
    fragment = client.get(f"{path}/comments", headers={"HX-Request": "true"})
    assert fragment.get_data(as_text=True).lstrip().startswith('<section id="comment-thread"')
    assert client.get(f"{path}/comments").headers["Location"] == f"{path}#comment-thread"


def test_the_pdf_downloads_under_the_estimates_number(app, client, auth, seeded):
    auth.login()
    found = estimate(app, "Website redesign")
    response = client.get(f"/estimates/{found.id}.pdf")
    assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
    assert f"{found.number}.pdf" in response.headers["Content-Disposition"]


def test_an_estimate_is_forwarded_with_its_pdf_attached(app, client, auth, seeded):
    auth.login()
    path = _path(app, "Website redesign")
    form = client.get(f"{path}/forward").get_data(as_text=True)
    assert "Sam Lee" in form
    response = post_form(client, f"{path}/forward", {"addresses": "cfo@example.com"})
    assert response.status_code == 303
    (mail,) = mails(app)
    assert (mail.to_address, mail.attachment_kind) == ("cfo@example.com", "estimate")
    status = client.get(response.headers["Location"]).get_data(as_text=True)
    assert estimate(app, "Website redesign").number in status and "cfo@example.com" in status


def test_the_module_switched_off_hides_the_sidebar_entry_and_answers_404(app, client, auth,
                                                                         seeded):
    set_preference(app, module_estimates=False)
    auth.login()
    assert 'href="/estimates"' not in client.get("/").get_data(as_text=True)
    assert client.get("/estimates").status_code == 404
    assert client.get(_path(app, "Website redesign")).status_code == 404
