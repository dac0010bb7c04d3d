"""The admins' side: estimates, projects, tasks, time entries, replies and reviews."""

from __future__ import annotations

import pytest

from tests.conftest import post_form
from tests.web.engagement_support import entries, entry, estimate, mails, project, set_preference
from webapp import demo


@pytest.fixture
def admin(auth, seeded):
    auth.login(*demo.ADMIN)
    return auth


def test_the_admin_sidebar_links_estimates_projects_and_reviews(client, admin):
    page = client.get("/admin/").get_data(as_text=True)
    for path in ("/admin/estimates", "/admin/projects", "/admin/reviews"):
        assert f'href="{path}"' in page


def test_a_new_estimate_is_created_as_a_draft_and_sent_with_an_email(app, client, admin,
                                                                     seeded):
    response = post_form(client, "/admin/estimates/new", {
        "customer_id": seeded.jane_customer_id, "subject": "SEO audit",
        "issue_date": "2026-11-26", "expiry_date": "2026-12-26",
        "lines-0-item": "Audit", "lines-0-quantity": "2", "lines-0-unit_price": "450",
        "lines-1-item": "", "lines-1-quantity": "", "lines-1-unit_price": ""})
    assert response.status_code == 303
    draft = estimate(app, "SEO audit")
    assert (draft.status, draft.subtotal, draft.tax_total) == ("draft", 90000, 18000)
    response = post_form(client, f"/admin/estimates/{draft.id}/send", {},
                         token_from=f"/admin/estimates/{draft.id}")
    assert response.status_code == 303 and estimate(app, "SEO audit").status == "sent"
    (mail,) = mails(app)
    assert (mail.template, mail.to_address) == ("estimate_sent", demo.JANE[0])


def test_a_bad_line_is_shown_on_the_form_and_nothing_is_created(app, client, admin, seeded):
    response = post_form(client, "/admin/estimates/new", {
        "customer_id": seeded.jane_customer_id, "subject": "Broken",
        "issue_date": "2026-11-26", "expiry_date": "2026-12-26",
        "lines-0-item": "Audit", "lines-0-quantity": "two", "lines-0-unit_price": "450"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Line 1: the quantity" in html
    assert 'value="two"' in html


def test_editing_an_estimate_reprices_its_lines(app, client, admin, seeded):
    found = estimate(app, "Analytics dashboard")
    path = f"/admin/estimates/{found.id}/edit"
    assert 'value="Dashboard design"' in client.get(path).get_data(as_text=True)
    response = post_form(client, path, {
        "subject": "Analytics dashboard", "issue_date": "2026-11-24",
        "expiry_date": "2026-12-24", "lines-0-item": "Dashboard design",
        "lines-0-quantity": "1", "lines-0-unit_price": "600.00"})
    assert response.status_code == 303
    assert estimate(app, "Analytics dashboard").total == 72000


def test_an_admin_reply_with_htmx_swaps_the_thread_and_emails_the_customer(app, client, admin,
                                                                           seeded):
    path = f"/admin/estimates/{estimate(app, 'Website redesign').id}"
    response = post_form(client, f"{path}/comments", {"body": "We can start on 5 January."},
                         htmx=True, token_from=path)
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="comment-thread"')
    assert "We can start on 5 January." in html
    (mail,) = mails(app)
    assert (mail.template, mail.to_address) == ("comment_reply", demo.JANE[0])


def test_an_admin_reply_without_htmx_redirects_and_is_not_emailed_when_off(app, client, admin,
                                                                           seeded):
    set_preference(app, email_customer_on_reply=False)
    (one,) = entries(app, "Website redesign", "pending")[:1]
    path = f"/admin/entries/{one.id}"
    response = post_form(client, f"{path}/comments", {"body": "Pages 1 to 12."},
                         token_from=path)
    assert response.status_code == 303 and response.headers["Location"] == f"{path}#comment-thread"
    assert "Pages 1 to 12." in client.get(path).get_data(as_text=True)
    assert mails(app) == []


def test_a_project_task_and_time_entry_are_created(app, client, admin, seeded):
    response = post_form(client, "/admin/projects/new", {
        "customer_id": seeded.omar_customer_id, "name": "Catalogue", "status": "active",
        "billing_method": "task_hourly", "client_approval": "y"})
    assert response.status_code == 303
    created = project(app, "Catalogue")
    assert (created.currency, created.client_approval) == ("EUR", True)
    base = f"/admin/projects/{created.id}"
    refused = post_form(client, f"{base}/tasks/new", {"name": "Photos", "hourly_rate": ""})
    assert refused.status_code == 422 and "needs each task" in refused.get_data(as_text=True)
    assert post_form(client, f"{base}/tasks/new", {"name": "Photos",
                                                   "hourly_rate": "70"}).status_code == 303
    response = post_form(client, f"{base}/entries/new", {
        "task_id": "0", "work_date": "2026-11-25", "hours": "2:15", "description": "Shoot",
        "billable": "y"})
    assert response.status_code == 303
    (logged,) = entries(app, "Catalogue")
    assert (logged.minutes, logged.approval) == (135, "pending")


def test_an_approved_entry_cannot_be_edited(app, client, admin, seeded):
    (approved,) = entries(app, "Website redesign", "approved")[:1]
    path = f"/admin/projects/{approved.project_id}/entries/{approved.id}/edit"
    response = post_form(client, path, {"task_id": "0", "work_date": "2026-11-25",
                                        "hours": "1", "billable": "y"})
    assert response.status_code == 303  # refused with a flash, back where it came from
    assert "locked" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert entry(app, approved.id).minutes == approved.minutes


def test_the_reviews_page_filters_by_customer(client, admin, seeded):
    every = client.get("/admin/reviews").get_data(as_text=True)
    assert "Clear estimates and quick answers." in every and "Good service" in every
    omars = client.get(f"/admin/reviews?customer={seeded.omar_customer_id}").get_data(
        as_text=True)
    assert "Good service" in omars and "Clear estimates" not in omars


def test_request_review_emails_the_customer_a_link_to_the_form(app, client, admin, seeded):
    response = post_form(client, "/admin/reviews/request",
                         {"customer_id": seeded.jane_customer_id}, token_from="/admin/reviews")
    assert response.status_code == 303
    (mail,) = mails(app)
    assert (mail.template, mail.to_address, mail.context["page"]) == (
        "review_request", demo.JANE[0], {"endpoint": "reviews.index", "values": {}})


def test_a_review_written_by_jane_shows_on_the_admin_page(app, client, auth, seeded):
    auth.login()
    post_form(client, "/reviews", {"rating": "3", "body": "Slow replies lately."},
              token_from="/reviews")
    auth.logout()
    auth.login(*demo.ADMIN)
    assert "Slow replies lately." in client.get("/admin/reviews").get_data(as_text=True)


def test_the_admin_estimate_list_is_the_customers_list_with_every_customer_and_admin_links(
        app, client, auth, seeded):
    warehouse, draft = estimate(app, "Warehouse labels"), estimate(app, "Mobile app prototype")
    auth.login()
    mine = client.get("/estimates").get_data(as_text=True)
    assert '<th scope="col">Customer</th>' not in mine and f"estimate-row-{draft.id}" not in mine
    assert f'href="/estimates/{estimate(app, "Website redesign").id}"' in mine
    assert "Warehouse labels" not in mine
    auth.logout()
    auth.login(*demo.ADMIN)
    page = client.get("/admin/estimates").get_data(as_text=True)
    assert '<section id="estimate-list"' in page and '<th scope="col">Customer</th>' in page
    row = page.split(f'id="admin-estimate-{warehouse.id}"')[1].split("</tr>")[0]
    assert f'href="/admin/estimates/{warehouse.id}"' in row and "<td>Omar Haddad</td>" in row
    assert f'id="admin-estimate-{draft.id}"' in page  # drafts too
    assert "Page 1 of" not in page  # the admin's list has no pager


def test_the_admin_project_table_is_the_customers_table_with_status_and_admin_links(
        app, client, auth, seeded):
    labels, site = project(app, "Label system"), project(app, "Website redesign")
    auth.login()
    mine = client.get("/projects").get_data(as_text=True)
    assert '<th scope="col" class="amount">Approved</th>' in mine
    assert '<th scope="col">Customer</th>' not in mine and "Label system" not in mine
    assert f'<tr id="project-row-{site.id}">' in mine
    assert f'href="/projects/{site.id}"' in mine
    auth.logout()
    auth.login(*demo.ADMIN)
    page = client.get("/admin/projects").get_data(as_text=True)
    assert '<th scope="col">Client approval</th>' in page
    assert '<th scope="col" class="amount">Approved</th>' not in page
    row = page.split(f'id="admin-project-{labels.id}"')[1].split("</tr>")[0]
    assert f'href="/admin/projects/{labels.id}"' in row and "<td>Omar Haddad</td>" in row
    assert 'class="status status-' in row
