"""Timesheets and projects in the portal: approving one or many, disapproving, comments."""

from __future__ import annotations

from tests.conftest import post_form
from tests.web.engagement_support import entries, entry, mails, project, set_preference


def test_projects_lists_active_projects_with_their_hours(client, auth, seeded):
    auth.login()
    page = client.get("/projects").get_data(as_text=True)
    assert "Website redesign" in page and "28:00" in page and "Logo package" not in page


def test_a_project_shows_billing_budget_tasks_and_entries(app, client, auth, seeded):
    auth.login()
    page = client.get(f"/projects/{project(app, 'Website redesign').id}").get_data(as_text=True)
    assert "Hourly, by project" in page and "$95.00" in page and "120:00" in page
    assert "Content migration" in page and "Migrate blog posts" in page


def test_the_timesheet_groups_entries_by_project_and_week(client, auth, seeded):
    auth.login()
    page = client.get("/timesheets").get_data(as_text=True)
    assert page.index("Brand guidelines") < page.index("Website redesign")
    assert "Week of" in page and "Approve selected" in page


def test_the_filter_swaps_only_the_list_for_htmx(app, client, auth, seeded):
    auth.login()
    website = project(app, "Website redesign").id
    response = client.get(f"/timesheets?project={website}&status=disapproved",
                          headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="timesheet-list"')
    assert "Front-end build, forms" in html and "Accessibility fixes" not in html


def _decide(client, data, htmx=False):
    return post_form(client, "/timesheets/decisions", data, htmx=htmx, token_from="/timesheets")


def test_approving_two_entries_with_htmx_swaps_the_list(app, client, auth, seeded):
    auth.login()
    two = entries(app, "Website redesign", "pending")[:2]
    response = _decide(client, {"entries": [e.id for e in two], "decision": "approve"},
                       htmx=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<section id="timesheet-list"')
    assert "You approved 2 time entries." in html
    assert [entry(app, e.id).approval for e in two] == ["approved", "approved"]
    assert f'id="select-entry-{two[0].id}"' not in html  # approved entries are locked


def test_approving_without_htmx_redirects_to_the_same_list_with_a_flash(app, client, auth,
                                                                        seeded):
    auth.login()
    (one,) = entries(app, "Website redesign", "pending")[:1]
    response = _decide(client, {"entries": [one.id], "decision": "approve",
                                "project": str(one.project_id)})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/timesheets?project={one.project_id}"
    assert "You approved 1 time entry." in client.get(response.headers["Location"]).get_data(
        as_text=True)


def test_disapproving_without_a_reason_shows_the_message_and_changes_nothing(app, client,
                                                                             auth, seeded):
    auth.login()
    (one,) = entries(app, "Website redesign", "pending")[:1]
    for htmx in (True, False):
        response = _decide(client, {"entries": [one.id], "decision": "disapprove",
                                    "reason": ""}, htmx=htmx)
        html = response.get_data(as_text=True)
        assert response.status_code == 422 and 'id="reason-errors"' in html
        assert "Say why you disapprove" in html and f'value="{one.id}" ' in html
    assert entry(app, one.id).approval == "pending"


def test_disapproving_with_a_reason_shows_it_in_the_list(app, client, auth, seeded):
    auth.login()
    (one,) = entries(app, "Website redesign", "pending")[:1]
    response = _decide(client, {"entries": [one.id], "decision": "disapprove",
                                "reason": "Not part of the scope."}, htmx=True)
    assert "Disapproved: Not part of the scope." in response.get_data(as_text=True)


def test_choosing_no_entry_is_explained(client, auth, seeded):
    auth.login()
    response = _decide(client, {"decision": "approve"}, htmx=True)
    assert response.status_code == 422
    assert "Choose at least one time entry." in response.get_data(as_text=True)


def test_approving_an_entry_of_a_project_without_client_approval_is_not_found(app, client,
                                                                              auth, seeded):
    auth.login()
    (one,) = entries(app, "Brand guidelines")[:1]
    assert _decide(client, {"entries": [one.id], "decision": "approve"}).status_code == 404
    response = post_form(client, f"/timesheets/entries/{one.id}/approve", {}, htmx=True,
                         token_from="/timesheets")
    assert response.status_code == 404 and entry(app, one.id).approval == "pending"


def test_approving_one_entry_on_its_page_with_htmx_swaps_its_decision(app, client, auth,
                                                                      seeded):
    auth.login()
    (one,) = entries(app, "Website redesign", "pending")[:1]
    path = f"/timesheets/entries/{one.id}"
    response = post_form(client, f"{path}/approve", {}, htmx=True, token_from=path)
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="timesheet-entry-decision"')
    assert "it is locked" in html


def test_disapproving_one_entry_without_htmx_redirects_to_it(app, client, auth, seeded):
    auth.login()
    (one,) = entries(app, "Website redesign", "pending")[:1]
    path = f"/timesheets/entries/{one.id}"
    response = post_form(client, f"{path}/disapprove", {"reason": "Duplicate."},
                         token_from=path)
    assert response.status_code == 303 and response.headers["Location"] == path
    assert "Your reason: Duplicate." in client.get(path).get_data(as_text=True)


def test_an_approved_entry_cannot_be_disapproved(app, client, auth, seeded):
    auth.login()
    (one,) = entries(app, "Website redesign", "approved")[:1]
    path = f"/timesheets/entries/{one.id}"
    response = post_form(client, f"{path}/disapprove", {"reason": "Changed my mind"},
                         htmx=True, token_from="/timesheets")
    assert response.status_code == 409 and "locked" in response.get_data(as_text=True)
    assert entry(app, one.id).approval == "approved"


def test_a_comment_on_an_entry_is_appended_with_or_without_htmx(app, client, auth, seeded):
    auth.login()
    (one,) = entries(app, "Website redesign", "pending")[-1:]
    path = f"/timesheets/entries/{one.id}"
    response = post_form(client, f"{path}/comments", {"body": "What was reviewed?"},
                         htmx=True, token_from=path)
    assert response.get_data(as_text=True).lstrip().startswith('<section id="comment-thread"')
    response = post_form(client, f"{path}/comments", {"body": "Thanks."}, token_from=path)
    assert response.headers["Location"] == f"{path}#comment-thread"
    page = client.get(path).get_data(as_text=True)
    assert page.index("What was reviewed?") < page.index("Thanks.")
    assert mails(app) == []


def test_switched_off_modules_answer_404(app, client, auth, seeded):
    set_preference(app, module_timesheets=False, module_projects=False)
    auth.login()
    assert client.get("/timesheets").status_code == 404
    assert client.get("/projects").status_code == 404
