"""Two-factor sign-in's rules with a fixed clock: the skew window, each code once, recovery
codes single-use and stored hashed, remembered devices, resets and the policy."""

from __future__ import annotations

from datetime import timedelta

import pyotp
import pytest
from sqlmodel import select

from webapp.models import AuditEntry, OutboxMessage, RecoveryCode, TrustedDevice, User
from webapp.services.accounts import two_factor
from webapp.services.accounts.auth import hash_password
from webapp.services.core.errors import InvalidInput, NotFound

PASSWORD = "first-password-1"


@pytest.fixture
def user(session, now) -> User:
    user = User(email="jane@example.com", password_hash=hash_password(PASSWORD),
                role="customer", created_at=now)
    session.add(user)
    session.commit()
    return user


def _code(secret: str, at) -> str:
    return pyotp.TOTP(secret).at(at)


def _switched_on(session, user, now) -> tuple[str, tuple[str, ...]]:
    setup = two_factor.begin_setup(session, user_id=user.id, issuer="Northwind",
                                   policy="optional")
    codes = two_factor.confirm_setup(session, user_id=user.id,
                                     code=_code(setup.secret, now), now=now)
    session.commit()
    return setup.secret, codes


def test_setup_shows_a_qr_code_as_inline_svg_and_the_same_secret_until_confirmed(session, user):
    first = two_factor.begin_setup(session, user_id=user.id, issuer="Northwind",
                                   policy="optional")
    again = two_factor.begin_setup(session, user_id=user.id, issuer="Northwind",
                                   policy="optional")
    assert first.secret == again.secret and len(first.secret) == 32
    assert first.qr_svg.startswith("<svg") and "style" not in first.qr_svg
    assert first.uri.startswith("otpauth://totp/Northwind:jane%40example.com?secret=")
    assert user.totp_enabled_at is None  # not on until a code confirms it


def test_setup_is_refused_while_the_policy_is_off(session, user):
    with pytest.raises(InvalidInput, match="switched off"):
        two_factor.begin_setup(session, user_id=user.id, issuer="N", policy="off")


def test_a_wrong_code_does_not_switch_it_on(session, user, now):
    two_factor.begin_setup(session, user_id=user.id, issuer="N", policy="optional")
    with pytest.raises(InvalidInput) as refused:
        two_factor.confirm_setup(session, user_id=user.id, code="000000", now=now)
    assert refused.value.field == "code" and user.totp_enabled_at is None


def test_confirming_makes_ten_recovery_codes_stored_only_as_hashes(session, user, now):
    _secret, codes = _switched_on(session, user, now)
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = session.exec(select(RecoveryCode.code_hash).where(
        RecoveryCode.user_id == user.id)).all()
    assert len(stored) == 10
    assert not {c.replace("-", "") for c in codes} & set(stored)
    assert all(len(h) == 64 for h in stored)
    mail = session.exec(select(OutboxMessage).where(
        OutboxMessage.template == "two_factor_changed")).one()
    assert mail.context["on"] is True and mail.to_address == user.email
    assert session.exec(select(AuditEntry.action)).all() == ["two_factor.on"]


@pytest.mark.parametrize("offset", [-30, 0, 30])
def test_a_code_one_step_either_side_of_now_is_accepted(session, user, now, offset):
    secret, _codes = _switched_on(session, user, now - timedelta(minutes=5))
    later = now + timedelta(seconds=offset)
    assert two_factor.sign_in_code(session, user_id=user.id, code=_code(secret, now),
                                   now=later) == two_factor.TOTP


@pytest.mark.parametrize("offset", [-90, -60, 60, 90])
def test_a_code_further_than_one_step_away_is_refused(session, user, now, offset):
    secret, _codes = _switched_on(session, user, now - timedelta(minutes=5))
    with pytest.raises(InvalidInput, match="not correct"):
        two_factor.sign_in_code(session, user_id=user.id, code=_code(secret, now),
                                now=now + timedelta(seconds=offset))


def test_each_code_signs_in_once(session, user, now):
    secret, _codes = _switched_on(session, user, now - timedelta(minutes=5))
    code = _code(secret, now)
    two_factor.sign_in_code(session, user_id=user.id, code=code, now=now)
    with pytest.raises(InvalidInput):
        two_factor.sign_in_code(session, user_id=user.id, code=code, now=now)
    # nor an older one still inside the window
    with pytest.raises(InvalidInput):
        two_factor.sign_in_code(session, user_id=user.id, code=_code(secret, now - timedelta(
            seconds=30)), now=now)
    assert two_factor.sign_in_code(session, user_id=user.id, code=_code(
        secret, now + timedelta(seconds=30)), now=now + timedelta(seconds=30)) == "totp"


def test_the_confirming_code_cannot_sign_in_again(session, user, now):
    setup = two_factor.begin_setup(session, user_id=user.id, issuer="N", policy="optional")
    code = _code(setup.secret, now)
    two_factor.confirm_setup(session, user_id=user.id, code=code, now=now)
    with pytest.raises(InvalidInput):
        two_factor.sign_in_code(session, user_id=user.id, code=code, now=now)


def test_a_recovery_code_signs_in_once_typed_any_way(session, user, now):
    _secret, codes = _switched_on(session, user, now)
    code = codes[3]
    assert two_factor.sign_in_code(session, user_id=user.id, code=f" {code.upper()} ",
                                   now=now) == two_factor.RECOVERY
    with pytest.raises(InvalidInput):
        two_factor.sign_in_code(session, user_id=user.id, code=code, now=now)
    assert two_factor.recovery_codes_left(session, user.id) == 9


def test_a_wrong_sign_in_code_is_audited(session, user, now):
    _switched_on(session, user, now)
    with pytest.raises(InvalidInput):
        two_factor.sign_in_code(session, user_id=user.id, code="123456", now=now)
    assert "two_factor.wrong_code" in session.exec(select(AuditEntry.action)).all()


def test_new_recovery_codes_need_the_password_and_a_code_and_replace_the_old(session, user,
                                                                             now):
    secret, old = _switched_on(session, user, now - timedelta(minutes=5))
    with pytest.raises(InvalidInput) as wrong_password:
        two_factor.regenerate_codes(session, user_id=user.id, password="nope",
                                    code=_code(secret, now), now=now)
    assert wrong_password.value.field == "password"
    new = two_factor.regenerate_codes(session, user_id=user.id, password=PASSWORD,
                                      code=_code(secret, now), now=now)
    assert not set(new) & set(old)
    with pytest.raises(InvalidInput):
        two_factor.sign_in_code(session, user_id=user.id, code=old[0], now=now)
    assert two_factor.unused_codes_among(session, user.id, [old[0], new[0], "x"]) == (new[0],)


def test_turning_it_off_needs_the_password_and_a_code(session, user, now):
    secret, codes = _switched_on(session, user, now - timedelta(minutes=5))
    with pytest.raises(InvalidInput) as refused:
        two_factor.turn_off(session, user_id=user.id, password=PASSWORD, code="000000",
                            policy="optional", now=now)
    assert refused.value.field == "code" and two_factor.is_on(user)
    two_factor.turn_off(session, user_id=user.id, password=PASSWORD, code=codes[0],
                        policy="optional", now=now)
    assert not two_factor.is_on(user) and user.totp_secret is None
    assert session.exec(select(RecoveryCode)).all() == []


def test_it_cannot_be_turned_off_where_the_policy_requires_it(session, user, now):
    secret, _codes = _switched_on(session, user, now - timedelta(minutes=5))
    with pytest.raises(InvalidInput, match="requires"):
        two_factor.turn_off(session, user_id=user.id, password=PASSWORD,
                            code=_code(secret, now), policy="everyone", now=now)


@pytest.mark.parametrize(("policy", "role", "required"), [
    ("off", "admin", False), ("optional", "admin", False), ("admins", "admin", True),
    ("admins", "customer", False), ("everyone", "customer", True)])
def test_the_policy_says_who_must_use_it(policy, role, required):
    assert two_factor.required(policy, role=role) is required


def test_a_remembered_device_is_trusted_for_thirty_days_until_revoked(session, user, now):
    token = two_factor.remember(session, user_id=user.id, user_agent=None, now=now)
    session.commit()
    assert token not in {d.token_hash for d in session.exec(select(TrustedDevice))}
    assert two_factor.is_trusted(session, user_id=user.id, token=token,
                                 now=now + timedelta(days=29))
    assert not two_factor.is_trusted(session, user_id=user.id, token=token,
                                     now=now + timedelta(days=30))
    assert not two_factor.is_trusted(session, user_id=user.id + 1, token=token, now=now)
    assert two_factor.revoke_devices(session, user_id=user.id, now=now) == 1
    assert not two_factor.is_trusted(session, user_id=user.id, token=token, now=now)


def test_a_reset_turns_it_off_forgets_devices_audits_and_emails(session, user, now):
    _switched_on(session, user, now)
    token = two_factor.remember(session, user_id=user.id, user_agent=None, now=now)
    assert two_factor.reset_by_email(session, email="Jane@Example.com ", now=now,
                                     actor_label="command line")
    assert not two_factor.is_on(user)
    assert not two_factor.is_trusted(session, user_id=user.id, token=token, now=now)
    entry = session.exec(select(AuditEntry).where(AuditEntry.action == "two_factor.reset")).one()
    assert entry.actor_label == "command line" and entry.subject_id == user.id
    assert session.exec(select(OutboxMessage).where(
        OutboxMessage.template == "two_factor_changed")).all()[-1].context["reset"] is True
    assert not two_factor.reset_by_email(session, email=user.email, now=now, actor_label="x")
    with pytest.raises(NotFound):
        two_factor.reset_by_email(session, email="nobody@example.com", now=now, actor_label="x")


def test_a_password_change_forgets_the_remembered_devices(session, user, now):
    from webapp.services.accounts import auth

    token = two_factor.remember(session, user_id=user.id, user_agent=None, now=now)
    auth.change_password(session, user_id=user.id, current_password=PASSWORD,
                         new_password="a-second-password-2", current_session_id=None, now=now)
    assert not two_factor.is_trusted(session, user_id=user.id, token=token, now=now)


def test_a_browser_remembered_for_several_accounts_is_checked_in_one_statement(session, user,
                                                                             now):
    mine = two_factor.remember(session, user_id=user.id, user_agent=None, now=now)
    assert two_factor.is_trusted(session, user_id=user.id, token=["someone-else", mine],
                                 now=now)
    assert not two_factor.is_trusted(session, user_id=user.id, token=["someone-else"], now=now)
    assert not two_factor.is_trusted(session, user_id=user.id, token=[], now=now)
