from datetime import timedelta

import pytest

from webapp import demo
from webapp.models import Coupon, Organization, Preferences, User
from webapp.services.core import audit
from webapp.services.core import preferences as prefs_service
from webapp.services.core.errors import Forbidden, InvalidInput, NotFound
from webapp.services.core.preferences import (
    ACTIONS,
    DOCUMENTS_FORWARD,
    MODULE_ACTIONS,
    MODULE_INVOICES,
    MODULE_PAYMENT_METHODS,
    MODULE_PROFILE,
    MODULE_SUBSCRIPTIONS,
    PAYMENT_METHODS_ADD,
    PROFILE_UPDATE,
    SUBSCRIPTION_CANCEL,
    SUBSCRIPTION_CHANGE_PLAN,
    SUBSCRIPTION_EDIT,
    SWITCHES,
    TRIAL_ACTIVATE,
    TRIAL_EXTEND,
    InvalidChanges,
    allowed,
    require,
)


def _all_on(**overrides) -> Preferences:
    return Preferences(**{**dict.fromkeys(SWITCHES, True), **overrides})


@pytest.fixture
def org(session, now) -> Organization:
    org = demo.seed_organization(session, now=now)
    session.commit()
    return org


@pytest.fixture
def admin(session, now, org) -> User:
    user = User(email="admin@example.com", role="admin", created_at=now)
    session.add(user)
    session.commit()
    return user


def _update(session, admin, now, **changes):
    return prefs_service.update(session, actor_user_id=admin.id, changes=changes, now=now)


# --- The permission service -----------------------------------------------------------------

def test_a_new_organization_gets_the_documented_defaults(session, org):
    prefs = prefs_service.load(session)
    assert prefs.module_invoices and prefs.module_timesheets and prefs.forward_documents
    assert not (prefs.trial_activate or prefs.edit_subscription or prefs.cancel_subscription)
    assert (prefs.edit_timing, prefs.cancel_timing) == ("customer_choice", "both")
    assert (prefs.trial_max_extensions, prefs.pause_max_days) == (1, 90)
    assert prefs.dunning_retry_days == [1, 3, 7] and prefs.dunning_final_action == "unpaid"
    assert (prefs.reminder_trial_ending_days, prefs.reminder_renewal_days) == (3, 7)
    assert prefs.forward_max_recipients_per_hour == 20 and prefs.cancel_credit_unused
    assert prefs.cancellation_reasons and prefs.retention_coupon_code is None
    assert not prefs.partial_payments and not prefs.portal_auto_enable
    assert (prefs.session_lifetime_days, prefs.session_idle_days) == (30, 7)


def test_by_default_customers_see_every_module_but_may_not_change_subscriptions():
    prefs = Preferences()
    assert all(allowed(prefs, action) for action in set(MODULE_ACTIONS.values()))
    assert not any(allowed(prefs, a) for a in ACTIONS if a.startswith(("trial.", "subscription.")))
    assert allowed(prefs, DOCUMENTS_FORWARD) and allowed(prefs, PROFILE_UPDATE)


@pytest.mark.parametrize("action, module", [
    (TRIAL_ACTIVATE, MODULE_SUBSCRIPTIONS), (SUBSCRIPTION_CANCEL, MODULE_SUBSCRIPTIONS),
    (SUBSCRIPTION_CHANGE_PLAN, MODULE_SUBSCRIPTIONS), (PROFILE_UPDATE, MODULE_PROFILE),
    (PAYMENT_METHODS_ADD, MODULE_PAYMENT_METHODS),
])
def test_an_action_is_off_while_its_module_is_off(action, module):
    field = module.replace("module.", "module_")
    assert allowed(_all_on(), action)
    assert not allowed(_all_on(**{field: False}), action)


def test_changing_the_plan_needs_editing_switched_on():
    assert not allowed(_all_on(edit_subscription=False), SUBSCRIPTION_CHANGE_PLAN)
    assert not allowed(_all_on(edit_change_plan=False), SUBSCRIPTION_CHANGE_PLAN)


def test_editing_with_nothing_left_to_change_is_not_offered():
    prefs = _all_on(edit_change_plan=False, edit_change_addons=False, edit_change_coupons=False)
    assert not allowed(prefs, SUBSCRIPTION_EDIT)


def test_extending_a_trial_needs_at_least_one_extension_allowed():
    assert not allowed(_all_on(trial_max_extensions=0), TRIAL_EXTEND)
    assert allowed(_all_on(trial_max_extensions=1), TRIAL_EXTEND)


def test_a_refused_action_raises_forbidden_which_answers_404():
    with pytest.raises(Forbidden) as refused:
        require(Preferences(), SUBSCRIPTION_CANCEL)
    assert isinstance(refused.value, NotFound) and refused.value.status == 404
    require(Preferences(), MODULE_INVOICES)  # allowed: no error


def test_an_unknown_action_name_is_a_programming_error():
    with pytest.raises(KeyError):
        allowed(Preferences(), "subscription.teleport")
    with pytest.raises(KeyError):
        prefs_service.permissions(Preferences())("subscription.teleport")


def test_the_permissions_snapshot_gives_the_same_answers_as_allowed():
    prefs = _all_on(module_profile=False, reviews=False)
    can = prefs_service.permissions(prefs)
    assert all(can(action) == allowed(prefs, action) for action in ACTIONS)
    assert not can.module_enabled("profile") and not can.module_enabled("reviews")
    assert can.module_enabled("invoices")


@pytest.mark.parametrize("stored, timings", [
    ("immediately", ("immediately",)), ("end_of_term", ("end_of_term",)),
    ("customer_choice", ("immediately", "end_of_term")),
])
def test_edit_timing_says_when_a_change_may_take_effect(stored, timings):
    assert prefs_service.edit_timings(Preferences(edit_timing=stored)) == timings


def test_cancel_timing_both_lets_the_customer_choose():
    assert prefs_service.cancel_timings(Preferences()) == ("immediately", "end_of_term")


def test_the_demo_organization_turns_every_switch_on(session, now, org):
    prefs = prefs_service.seed_demo_preferences(session, now=now)
    session.commit()
    loaded = prefs_service.load(session)
    # all but the mail about a new browser, which every first demo login would send
    assert all(getattr(loaded, s) for s in SWITCHES if s != "two_factor_new_device_email")
    assert not loaded.two_factor_new_device_email
    assert all(allowed(prefs, action) for action in ACTIONS)


def test_seeding_the_demo_again_keeps_what_the_admin_changed(session, now, org, admin):
    prefs_service.seed_demo_preferences(session, now=now)
    _update(session, admin, now, module_invoices=False)
    session.commit()
    prefs_service.seed_demo_preferences(session, now=now)
    assert prefs_service.load(session).module_invoices is False


# --- Saving the admin page -------------------------------------------------------------------

def test_saving_records_each_change_old_and_new_in_the_audit_trail(session, now, org, admin):
    result = _update(session, admin, now, module_invoices=False, pause_max_days=120,
                     dunning_retry_days=[2, 4])
    session.commit()
    assert {c.field: (c.old, c.new) for c in result.changes} == {
        "module_invoices": (True, False), "pause_max_days": (90, 120),
        "dunning_retry_days": ([1, 3, 7], [2, 4])}
    [entry] = audit.recent(session, subject_type="preferences")
    assert entry.actor_user_id == admin.id and entry.actor_label == "admin@example.com"
    assert entry.before == {"module_invoices": True, "pause_max_days": 90,
                            "dunning_retry_days": [1, 3, 7]}
    assert entry.after == {"module_invoices": False, "pause_max_days": 120,
                           "dunning_retry_days": [2, 4]}
    assert entry.created_at == now


def test_the_change_is_read_back_on_the_next_load(session, now, org, admin):
    _update(session, admin, now, module_invoices=False)
    session.commit()
    session.expunge_all()
    assert not allowed(prefs_service.load(session), MODULE_INVOICES)


def test_saving_the_same_values_changes_nothing_and_records_nothing(session, now, org, admin):
    result = _update(session, admin, now, pause_max_days=90, name=org.name)
    assert result.changes == () and result.summary == "Nothing changed."
    assert audit.recent(session) == []


def test_organization_details_are_audited_as_the_organization(session, now, org, admin):
    result = _update(session, admin, now, name="Northwind Ltd", tax_rate_bp=750,
                     timezone="America/New_York", locale="de-DE")
    session.commit()
    assert session.get(Organization, 1).locale == "de_DE"
    [entry] = audit.recent(session, subject_type="organization")
    assert entry.before["tax_rate_bp"] == 2000 and entry.after["tax_rate_bp"] == 750
    assert "Tax rate (%): 20% → 7.5%" in result.summary
    assert audit.recent(session, subject_type="preferences") == []


@pytest.mark.parametrize("changes, field", [
    ({"trial_max_extensions": 6}, "trial_max_extensions"),
    ({"trial_max_extensions": -1}, "trial_max_extensions"),
    ({"pause_max_days": 0}, "pause_max_days"),
    ({"pause_max_days": 366}, "pause_max_days"),
    ({"dunning_retry_days": [3, 1]}, "dunning_retry_days"),
    ({"dunning_retry_days": [1, 1, 2]}, "dunning_retry_days"),
    ({"dunning_retry_days": [0, 2]}, "dunning_retry_days"),
    ({"dunning_retry_days": []}, "dunning_retry_days"),
    ({"dunning_final_action": "forgive"}, "dunning_final_action"),
    ({"edit_timing": "sometimes"}, "edit_timing"),
    ({"cancellation_reasons": []}, "cancellation_reasons"),
    ({"cancellation_reasons": ["Price", "price"]}, "cancellation_reasons"),
    ({"retention_coupon_code": "NOSUCH", "retention_offer_text": "Stay!"},
     "retention_coupon_code"),
    ({"retention_offer_text": "Stay for 50% off"}, "retention_coupon_code"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"locale": "xx_YY"}, "locale"),
    ({"base_currency": "XXX"}, "base_currency"),
    ({"tax_name": "VAT", "tax_rate_bp": None}, "tax_rate_bp"),
    ({"tax_name": "", "tax_rate_bp": 2000}, "tax_name"),
    ({"tax_rate_bp": 10_001}, "tax_rate_bp"),
    ({"email": "not-an-address"}, "email"),
    ({"name": "  "}, "name"),
    ({"reminder_renewal_days": 0}, "reminder_renewal_days"),
    ({"session_lifetime_days": 0}, "session_lifetime_days"),
    ({"session_lifetime_days": 366}, "session_lifetime_days"),
    ({"session_idle_days": 91}, "session_idle_days"),
])
def test_invalid_values_are_refused_and_nothing_is_saved(session, now, org, admin, changes,
                                                         field):
    with pytest.raises(InvalidChanges) as refused:
        _update(session, admin, now, module_invoices=False, **changes)
    assert field in refused.value.errors
    assert isinstance(refused.value, InvalidInput)
    session.rollback()
    assert prefs_service.load(session).module_invoices is True
    assert audit.recent(session) == []


def test_every_invalid_field_is_reported_at_once(session, now, org, admin):
    with pytest.raises(InvalidChanges) as refused:
        _update(session, admin, now, pause_max_days=0, trial_max_extensions=9, locale="zz")
    assert set(refused.value.errors) == {"pause_max_days", "trial_max_extensions", "locale"}


def test_overdue_invoices_are_reminded_by_default_and_nothing_else_happens(session, org):
    prefs = prefs_service.load(session)
    assert prefs.overdue_reminder_days == [1, 7, 14]
    assert (prefs.overdue_action, prefs.overdue_action_days) == ("nothing", 30)


def test_the_overdue_settings_are_validated_together(session, now, org, admin):
    with pytest.raises(InvalidChanges) as refused:
        _update(session, admin, now, overdue_reminder_days=[14, 7], overdue_action="sue",
                overdue_action_days=0)
    assert refused.value.errors == {
        "overdue_reminder_days": "List the reminder days in ascending order, each later than "
                                 "the one before.",
        "overdue_action": "Choose one of the options.",
        "overdue_action_days": "Enter a whole number from 1 to 365."}
    assert prefs_service.load(session).overdue_action == "nothing"


def test_overdue_settings_are_saved_and_audited_like_the_others(session, now, org, admin):
    result = _update(session, admin, now, overdue_reminder_days=(), overdue_action="unpaid",
                     overdue_action_days=45)
    session.commit()
    prefs = prefs_service.load(session)
    assert (prefs.overdue_reminder_days, prefs.overdue_action, prefs.overdue_action_days) == (
        [], "unpaid", 45)
    assert [(c.label, c.old_text, c.new_text) for c in result.changes] == [
        ("Remind about an unpaid invoice (days past due)", "1, 7, 14", "(none)"),
        ("When an invoice stays unpaid", "Nothing: keep renewing and reminding",
         "Mark the subscription unpaid"),
        ("Act this many days past due", "30", "45")]
    [entry] = audit.recent(session, subject_type="preferences")
    assert entry.after == {"overdue_reminder_days": [], "overdue_action": "unpaid",
                           "overdue_action_days": 45}


def test_a_retention_offer_uses_an_active_coupon(session, now, org, admin):
    session.add(Coupon(code="STAY50", name="Stay with us", discount_type="percentage",
                       percent_bp=5000, created_at=now - timedelta(days=1)))
    session.commit()
    _update(session, admin, now, retention_coupon_code="stay50",
            retention_offer_text="Half price for your next term")
    assert prefs_service.load(session).retention_coupon_code == "STAY50"


def test_saving_without_an_organization_is_not_found(session, now):
    with pytest.raises(NotFound):
        prefs_service.update(session, actor_user_id=None, changes={}, now=now)


@pytest.mark.parametrize("typed, basis_points", [("20", 2000), ("7.5", 750), ("0.25 %", 25),
                                                 ("", None)])
def test_a_typed_tax_percentage_becomes_basis_points(typed, basis_points):
    assert prefs_service.parse_percent(typed) == basis_points


@pytest.mark.parametrize("typed", ["7.125", "twenty"])
def test_a_tax_percentage_with_too_many_decimals_or_no_number_is_refused(typed):
    with pytest.raises(InvalidInput):
        prefs_service.parse_percent(typed)


def test_the_history_lists_labelled_changes_newest_first(session, now, org, admin):
    _update(session, admin, now, reviews=False)
    _update(session, admin, now + timedelta(minutes=5), pause_max_days=30)
    session.commit()
    first, second = prefs_service.history(session)
    assert first.at == now + timedelta(minutes=5) and first.actor == "admin@example.com"
    assert [(c.label, c.old_text, c.new_text) for c in first.changes] == [
        ("Longest pause (days)", "90", "30")]
    assert [(c.old_text, c.new_text) for c in second.changes] == [("on", "off")]


# --- The audit service ------------------------------------------------------------------------

def test_audit_entries_can_be_listed_per_customer(session, now, org, admin):
    jane = demo._customer(session, email="jane@example.com", name="Jane", company="",
                          currency="USD", now=now)
    for customer_id in (jane.id, None):
        audit.record(session, actor_user_id=admin.id, actor_label="admin@example.com",
                     action="profile.update", subject_type="customer", subject_id=jane.id,
                     before={"phone": ""}, after={"phone": "+1 555"}, now=now,
                     customer_id=customer_id)
    session.commit()
    assert len(audit.recent(session, customer_id=jane.id)) == 1
    assert len(audit.recent(session, subject_type="customer")) == 2


def test_audit_diff_keeps_only_the_changed_keys():
    assert audit.diff({"a": 1, "b": 2}, {"a": 1, "b": 3}) == ({"b": 2}, {"b": 3})
