"""webapp/links.py: the app's URL map builds the paths of mail links when they are sent."""

from __future__ import annotations

from sqlmodel import select

from webapp import links
from webapp.db import db
from webapp.dispatch import commit_and_dispatch
from webapp.models import OutboxMessage
from webapp.services.core import outbox


def test_inside_the_app_the_paths_come_from_its_url_map(app):
    with app.app_context():
        paths = links.paths()
        assert paths("invoices.detail", {"invoice_id": 7}) == "/invoices/7"
        assert paths("pay.fix", {"token": "a b"}) == "/fix/a%20b"
        assert paths("auth.login", {}) == "/login"


def test_outside_an_app_the_worker_makes_one_for_its_url_map(monkeypatch, app):
    monkeypatch.setattr(links, "_worker_app", lambda: app)
    assert links.paths()("reviews.index", {}) == "/reviews"


def test_a_mail_sent_in_process_links_to_base_url_and_the_page(app, seeded, now, capsys):
    app.config["BASE_URL"] = "https://portal.example/sub"
    with app.app_context():
        outbox.enqueue(db.session, template="review_request", to="jane@example.com",
                       subject="A review?", now=now,
                       context={"name": "Jane", "page": outbox.page("reviews.index")})
        commit_and_dispatch()
        assert [m.status for m in db.session.exec(select(OutboxMessage))] == ["sent"]
    assert "https://portal.example/sub/reviews" in capsys.readouterr().out
