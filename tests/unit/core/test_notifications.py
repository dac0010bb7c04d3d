"""notify_org: every event reaches the admin list; the listed ones email the organization."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from webapp import demo
from webapp.models import Customer, Notification, Organization, OutboxMessage, Preferences
from webapp.services.core import notifications
from webapp.services.core.errors import NotFound


@pytest.fixture
def org(session, now):
    org = demo.seed_organization(session, now=now)
    session.commit()
    return org


@pytest.fixture
def jane(session, now, org):
    customer = Customer(display_name="Jane Cooper", email="jane@example.com", currency="USD",
                        created_at=now)
    session.add(customer)
    session.commit()
    return customer


def _notify(session, now, event=notifications.PAYMENT_RECEIVED, customer_id=None):
    return notifications.notify_org(session, event=event, title="Payment received",
                                    body="Jane Cooper paid INV-000001.", now=now,
                                    customer_id=customer_id)


def _mails(session):
    return list(session.exec(select(OutboxMessage)))


def test_every_event_adds_an_unread_admin_notification(session, now, org):
    _notify(session, now, event="subscription_paused")
    (note,) = session.exec(select(Notification)).all()
    assert (note.event, note.title, note.read_at) == ("subscription_paused", "Payment received",
                                                      None)


def test_an_emailed_event_mails_the_organization_with_the_customer_as_reply_to(session, now,
                                                                               jane):
    _notify(session, now, customer_id=jane.id)
    (mail,) = _mails(session)
    assert (mail.to_address, mail.reply_to, mail.subject, mail.template) == (
        "billing@northwind.example", "jane@example.com", "Payment received", "org_notification")


@pytest.mark.parametrize("event", sorted(notifications.EMAILED_EVENTS))
def test_each_event_design_lists_is_emailed(session, now, org, event):
    _notify(session, now, event=event)
    assert len(_mails(session)) == 1


def test_other_events_go_to_the_admin_list_only(session, now, org):
    _notify(session, now, event="subscription_paused")
    assert _mails(session) == []


def test_no_email_while_notify_organization_is_off(session, now, org):
    session.add(Preferences(organization_id=1, notify_organization=False))
    session.flush()
    _notify(session, now)
    assert _mails(session) == []
    assert len(session.exec(select(Notification)).all()) == 1


def test_marking_read_keeps_the_first_time_it_was_read(session, now, org):
    note = _notify(session, now)
    first = notifications.mark_read(session, notification_id=note.id, now=now)
    again = notifications.mark_read(session, notification_id=note.id,
                                    now=now + timedelta(hours=1))
    assert (first.unread, first.read_at, again.read_at) == (False, now, now)


def test_marking_a_missing_notification_read_is_not_found(session, now, org):
    with pytest.raises(NotFound):
        notifications.mark_read(session, notification_id=999, now=now)


def test_the_list_is_newest_first_and_counts_unread(session, now, org):
    for hours in range(3):
        notifications.notify_org(session, event="x", title=f"n{hours}", body="",
                                 now=now + timedelta(hours=hours))
    listing = notifications.list_page(session)
    assert [n.title for n in listing.items] == ["n2", "n1", "n0"]
    assert (listing.unread_count, listing.next_page, listing.previous_page) == (3, None, None)


# --- In the reader's language (issue 33) --------------------------------------------------------

# A tiny German catalog for the texts these tests use.
GERMAN = {
    "Payment received: %(amount)s from %(customer)s": "Zahlung erhalten: %(amount)s von "
                                                      "%(customer)s",
    "Receipt %(number)s.": "Beleg %(number)s.",
    "%(customer)s: %(text)s": "%(customer)s: %(text)s",
    "extended the trial by %(days)s days.": "hat die Testphase um %(days)s Tage verlängert.",
    "%(field)s: %(before)s → %(after)s": "%(field)s: %(before)s → %(after)s",
    "(none)": "(leer)",
    "Name": "Name",
    "Company": "Firma",
    ("%(customer)s approved %(num)d time entry", "%(customer)s approved %(num)d time entries"):
        ("%(customer)s hat %(num)d Zeiteintrag freigegeben",
         "%(customer)s hat %(num)d Zeiteinträge freigegeben"),
}


@pytest.fixture
def german(service_catalogs):
    from webapp.services.core import i18n

    service_catalogs.write("de", GERMAN)
    return i18n


def _received(session, now, customer_id=None, event=notifications.PAYMENT_RECEIVED):
    return notifications.notify_org(
        session, event=event, title="Payment received: %(amount)s from %(customer)s",
        body="Receipt %(number)s.", now=now, customer_id=customer_id,
        params={"amount": "$25.00", "customer": "Jane Cooper", "number": "RCT-1"})


def test_a_notification_stores_its_message_ids_and_params_and_reads_as_before(session, now,
                                                                              org):
    _received(session, now)
    (note,) = session.exec(select(Notification)).all()
    assert (note.title, note.body) == ("Payment received: %(amount)s from %(customer)s",
                                       "Receipt %(number)s.")
    assert note.params == {"amount": "$25.00", "customer": "Jane Cooper", "number": "RCT-1"}
    (shown,) = notifications.list_page(session).items
    assert (shown.title, shown.body) == ("Payment received: $25.00 from Jane Cooper",
                                         "Receipt RCT-1.")


def test_each_reader_reads_it_in_their_language(session, now, org, german):
    _received(session, now)
    (shown,) = notifications.list_page(session).items
    with german.use_locale("de_DE"):
        assert (shown.title, shown.body) == ("Zahlung erhalten: $25.00 von Jane Cooper",
                                             "Beleg RCT-1.")
    assert shown.title == "Payment received: $25.00 from Jane Cooper"  # English outside


def test_a_lazy_label_in_the_params_is_stored_as_its_message_id(session, now, org, german):
    """A profile change names its fields with the lazy labels the pages use (`_("Company")`):
    they are stored as message ids (JSON, not the lazy object) and read in the reader's words."""
    notifications.notify_org(session, event="x", title="%(field)s: %(before)s → %(after)s",
                             body="", now=now,
                             params={"field": german._("Company"), "before": "A", "after": "B"})
    session.flush()
    (note,) = session.exec(select(Notification)).all()
    assert note.params["field"] == {"msgid": "Company", "params": {}}
    (shown,) = notifications.list_page(session).items
    with german.use_locale("de_DE"):
        assert shown.title == "Firma: A → B"


def test_a_row_from_before_has_no_params_and_shows_as_stored(session, now, org, german):
    session.add(Notification(event="x", title="Paid 100% of %(x)s", body="As it was.",
                             created_at=now))
    session.flush()
    (shown,) = notifications.list_page(session).items
    with german.use_locale("de_DE"):
        assert (shown.title, shown.body) == ("Paid 100% of %(x)s", "As it was.")


def test_messages_plurals_dates_and_lists_inside_params(session, now, org, german):
    from datetime import date

    from webapp.services.core.dates import dated
    from webapp.services.core.money import Amount

    notifications.notify_org(
        session, event="x",
        title=notifications.lazy_ngettext("%(customer)s approved %(num)d time entry",
                                          "%(customer)s approved %(num)d time entries", 2,
                                          customer="Jane Cooper"),
        body="%(customer)s: %(text)s", now=now,
        params={"customer": "Jane Cooper",
                "text": notifications.message("extended the trial by %(days)s days.", days=7),
                "lines": [notifications.message("%(field)s: %(before)s → %(after)s",
                                                field=notifications.message("Name"),
                                                before=notifications.message("(none)"),
                                                after="Jane")],
                "due": dated("{total} is due on {on}.", total=Amount(2500, "USD"),
                             on=date(2026, 12, 1))})
    (note,) = session.exec(select(Notification)).all()
    assert note.params["due"]["dated"]["values"] == {"total": [2500, "USD"], "on": "2026-12-01"}
    shown = notifications.NotificationView.of(note)
    assert (shown.title, shown.body) == ("Jane Cooper approved 2 time entries",
                                         "Jane Cooper: extended the trial by 7 days.")
    assert notifications.render_body("%(lines)s", note.params) == "Name: (none) → Jane"
    due = dated("{total} is due on {on}.", total=Amount(2500, "USD"), on=date(2026, 12, 1))
    # written in the organization's locale, as the notification always was
    assert notifications.render_body("%(due)s", note.params) == \
        due.format(session.get(Organization, 1).locale)
    with german.use_locale("de_DE"):
        assert (shown.title, shown.body) == (
            "Jane Cooper hat 2 Zeiteinträge freigegeben",
            "Jane Cooper: hat die Testphase um 7 Tage verlängert.")
        assert notifications.render_body("%(lines)s", note.params) == "Name: (leer) → Jane"


def test_the_organizations_email_is_written_in_its_language(session, now, jane, german):
    session.get(Organization, 1).locale = "de_DE"
    session.flush()
    _received(session, now, customer_id=jane.id)
    (mail,) = _mails(session)
    assert mail.subject == "Zahlung erhalten: $25.00 von Jane Cooper"
    assert (mail.context["title"], mail.context["body"]) == (mail.subject, "Beleg RCT-1.")


def test_a_customer_action_in_the_audit_trail_reads_in_the_readers_language(session, now,
                                                                             jane, german):
    from webapp.models import AuditEntry
    from webapp.services.admin.activity import AuditRow

    notifications.notify_org(session, event=notifications.REVIEW_SUBMITTED,
                             title="Payment received: %(amount)s from %(customer)s",
                             body="Receipt %(number)s.", now=now, customer_id=jane.id,
                             params={"amount": "$25.00", "customer": "Jane Cooper",
                                     "number": "RCT-1"})
    (entry,) = session.exec(select(AuditEntry)).all()
    row = AuditRow.of(entry, "Jane Cooper")
    assert [(c.field, c.after) for c in row.changes] == [
        ("title", "Payment received: $25.00 from Jane Cooper"), ("body", "Receipt RCT-1.")]
    with german.use_locale("de_DE"):
        assert AuditRow.of(entry, "Jane Cooper").changes[0].after == \
            "Zahlung erhalten: $25.00 von Jane Cooper"
