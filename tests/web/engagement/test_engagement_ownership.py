"""Omar gets 404 on every one of Jane's estimates, projects, entries, comments and reviews;
customers get 404 on every admin URL of these modules."""

from __future__ import annotations

import pytest

from tests.conftest import post_form
from tests.web.engagement_support import Review, entries, estimate, first, project
from webapp import demo
from webapp.models import Estimate, Project, TimeEntry

# (name, method, URL template, the model whose first row of Jane's fills {id})
JANES_ROUTES = [
    ("estimate", "get", "/estimates/{id}", Estimate),
    ("estimate pdf", "get", "/estimates/{id}.pdf", Estimate),
    ("estimate forward", "get", "/estimates/{id}/forward", Estimate),
    ("estimate comments", "get", "/estimates/{id}/comments", Estimate),
    ("estimate comment", "post", "/estimates/{id}/comments", Estimate),
    ("estimate accept", "post", "/estimates/{id}/accept", Estimate),
    ("estimate decline", "post", "/estimates/{id}/decline", Estimate),
    ("project", "get", "/projects/{id}", Project),
    ("time entry", "get", "/timesheets/entries/{id}", TimeEntry),
    ("time entry comments", "get", "/timesheets/entries/{id}/comments", TimeEntry),
    ("time entry comment", "post", "/timesheets/entries/{id}/comments", TimeEntry),
    ("time entry approve", "post", "/timesheets/entries/{id}/approve", TimeEntry),
    ("time entry disapprove", "post", "/timesheets/entries/{id}/disapprove", TimeEntry),
    ("review", "get", "/reviews/{id}", Review),
]


def _janes_id(app, seeded, name, model) -> int:
    if model is Estimate:  # one Jane could still decide, so a refusal is about ownership
        return estimate(app, "Website redesign").id
    if model is TimeEntry:
        return first(app, TimeEntry, seeded.jane_customer_id).id if "approve" not in name \
            else _pending_entry(app)
    return first(app, model, seeded.jane_customer_id).id


def _pending_entry(app) -> int:
    return entries(app, "Website redesign", "pending")[0].id


def _request(client, method, path, data=None):
    if method == "get":
        return client.get(path)
    return post_form(client, path, data or {"body": "Mine?", "reason": "No."},
                     token_from="/estimates")


@pytest.mark.parametrize(("name", "method", "template", "model"), JANES_ROUTES,
                         ids=[r[0] for r in JANES_ROUTES])
def test_omar_gets_404_on_janes_things(app, client, auth, seeded, name, method, template,
                                       model):
    path = template.format(id=_janes_id(app, seeded, name, model))
    auth.login(*demo.OMAR)
    assert _request(client, method, path).status_code == 404
    auth.logout()
    auth.login()
    assert _request(client, method, path).status_code in (200, 302, 303)


def test_omar_cannot_decide_janes_entries_in_a_batch(app, client, auth, seeded):
    auth.login(*demo.OMAR)
    response = post_form(client, "/timesheets/decisions",
                         {"entries": [_pending_entry(app)], "decision": "approve"},
                         token_from="/timesheets")
    assert response.status_code == 404


ADMIN_ROUTES = [
    ("get", "/admin/estimates"), ("get", "/admin/estimates/new"),
    ("get", "/admin/estimates/{estimate}"), ("get", "/admin/estimates/{estimate}/edit"),
    ("post", "/admin/estimates/{estimate}/send"), ("post", "/admin/estimates/{estimate}/comments"),
    ("get", "/admin/projects"), ("get", "/admin/projects/new"),
    ("get", "/admin/projects/{project}"), ("get", "/admin/projects/{project}/edit"),
    ("get", "/admin/projects/{project}/tasks/new"),
    ("get", "/admin/projects/{project}/entries/new"),
    ("get", "/admin/entries/{entry}"), ("post", "/admin/entries/{entry}/comments"),
    ("get", "/admin/reviews"), ("post", "/admin/reviews/request"),
]


@pytest.mark.parametrize(("method", "template"), ADMIN_ROUTES,
                         ids=[f"{m} {t}" for m, t in ADMIN_ROUTES])
def test_admin_urls_are_not_found_for_customers(app, client, auth, seeded, method, template):
    path = template.format(estimate=estimate(app, "Website redesign").id,
                           project=project(app, "Website redesign").id,
                           entry=first(app, TimeEntry, seeded.jane_customer_id).id)
    auth.login()
    response = client.get(path) if method == "get" else post_form(
        client, path, {"body": "x", "customer_id": seeded.jane_customer_id}, token_from="/")
    assert response.status_code == 404
