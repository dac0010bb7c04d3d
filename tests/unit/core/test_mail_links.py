"""Mail links are kept as a page (endpoint and values) and made into a URL when sent."""

from __future__ import annotations

import pytest

from webapp import demo
from webapp.services.core import outbox


def _paths(endpoint, values):
    return {"invoices.detail": "/invoices/{invoice_id}",
            "reviews.index": "/reviews"}[endpoint].format(**values)


@pytest.fixture
def org(session, now):
    org = demo.seed_organization(session, now=now)
    session.commit()
    return org


def _text(message) -> str:
    return message.get_body(("plain",)).get_content()


def test_a_page_is_its_endpoint_and_values():
    assert outbox.page("invoices.detail", invoice_id=7) == {
        "endpoint": "invoices.detail", "values": {"invoice_id": 7}}


def test_the_link_is_built_when_the_mail_is_sent(session, org, now):
    row = outbox.enqueue(session, template="review_request", to="jane@example.com",
                         subject="A review?", now=now,
                         context={"name": "Jane", "page": outbox.page("reviews.index")})
    session.flush()
    assert "path" not in row.context
    built = outbox.build_message(session, row, mail_from="portal@localhost", now=now,
                                 base_url="https://portal.example/", paths=_paths)
    assert "https://portal.example/reviews" in _text(built)


def test_a_row_written_with_a_path_is_sent_as_it_is(session, org, now):
    row = outbox.enqueue(session, template="review_request", to="jane@example.com",
                         subject="A review?", now=now, context={"name": "Jane", "path": "/reviews"})
    session.flush()
    built = outbox.build_message(session, row, mail_from="portal@localhost", now=now,
                                 base_url="https://portal.example")
    assert "https://portal.example/reviews" in _text(built)


def test_a_page_link_needs_the_senders_paths(session, org, now):
    row = outbox.enqueue(session, template="review_request", to="jane@example.com",
                         subject="A review?", now=now,
                         context={"name": "Jane", "page": outbox.page("reviews.index")})
    session.flush()
    with pytest.raises(ValueError, match="paths="):
        outbox.build_message(session, row, mail_from="portal@localhost", now=now)
