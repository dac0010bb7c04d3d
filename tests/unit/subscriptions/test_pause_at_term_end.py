"""Pause at the end of the term (issue 30): a choice next to "on a date", for the customer and
the back office; it pauses on the current term's end (no paid day left unused), the renewal is
not billed, and it resumes on the resume date (or after the longest pause)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import moment_on
from tests.unit.subscriptions.test_subscription_actions import TODAY, Shop, d
from webapp.services.admin import Actor
from webapp.services.admin import subscriptions as admin_subscriptions
from webapp.services.core.errors import InvalidInput
from webapp.services.core.preferences import InvalidChanges
from webapp.services.subscriptions import actions, lifecycle


@pytest.fixture
def shop(session, now) -> Shop:
    return Shop(session, now)


def test_pause_at_term_end_pauses_on_the_terms_end(shop):
    sub = shop.live()  # 6 Nov – 6 Dec 2026
    options = actions.pause_options(shop.session, **shop.ids(sub))
    assert options.term_end == sub.current_term_end
    result = actions.schedule_pause(shop.session, **shop.ids(sub), pause_on=None,
                                    resume_on=d(40), when=actions.AT_TERM_END)
    assert (sub.pause_on, sub.resume_on) == (sub.current_term_end, d(40))
    assert result.message.format() == (f"{sub.number} pauses at the end of its term, on "
                                       "Dec 6, 2026, and resumes on Jan 5, 2027.")


def test_a_date_typed_beside_term_end_is_ignored_and_no_resume_means_the_longest(shop):
    sub = shop.live()
    actions.schedule_pause(shop.session, **shop.ids(sub), pause_on=d(2), resume_on=None,
                           when=actions.AT_TERM_END)
    assert (sub.pause_on, sub.resume_on) == (sub.current_term_end,
                                             sub.current_term_end + timedelta(days=90))


def test_the_resume_date_must_follow_the_terms_end(shop):
    sub = shop.live()
    with pytest.raises(InvalidInput, match="Resume after the pause starts") as caught:
        actions.schedule_pause(shop.session, **shop.ids(sub), pause_on=None,
                               resume_on=sub.current_term_end, when=actions.AT_TERM_END)
    assert caught.value.field == "resume_on" and sub.pause_on is None


def test_an_unknown_choice_is_refused(shop):
    sub = shop.live()
    with pytest.raises(InvalidInput, match="Choose when the pause starts") as caught:
        actions.schedule_pause(shop.session, **shop.ids(sub), pause_on=d(2), resume_on=None,
                               when="someday")
    assert caught.value.field == "pause_when" and sub.pause_on is None


def test_the_tick_pauses_at_the_terms_end_without_renewing_and_resumes(shop):
    sub = shop.live()
    end = sub.current_term_end
    actions.schedule_pause(shop.session, **shop.ids(sub), pause_on=None,
                           resume_on=end + timedelta(days=20), when=actions.AT_TERM_END)
    lifecycle.tick(shop.session, now=shop.now + timedelta(days=(end - TODAY).days))
    assert shop.reload(sub).status == "paused"
    assert [i.kind for i in shop.invoices(sub)] == ["first_term"]  # the renewal is not billed
    lifecycle.tick(shop.session, now=shop.now + timedelta(days=(end - TODAY).days + 20))
    resumed = shop.reload(sub)
    assert resumed.status == "live"
    # no paid day was carried: the next term starts and is billed on the resume date
    assert [(i.kind, i.period_start, i.period_end) for i in shop.invoices(sub)] == [
        ("first_term", d(-20), end), ("renewal", d(30), d(61))]
    assert resumed.next_billing_date == d(61)


def test_the_back_office_pauses_at_the_terms_end(shop):
    sub = shop.live()
    admin_subscriptions.pause(shop.session, actor=Actor(None, "admin@example.com"),
                              subscription_id=sub.id, pause_on=None, resume_on=None,
                              at=moment_on(TODAY, shop.now), when="term_end")
    assert sub.pause_on == sub.current_term_end
    with pytest.raises(InvalidChanges) as refused:
        admin_subscriptions.pause(shop.session, actor=Actor(None, "admin@example.com"),
                                  subscription_id=sub.id, pause_on=None, resume_on=None,
                                  at=moment_on(TODAY, shop.now), when="soon")
    assert set(refused.value.errors) == {"pause_when"}
