"""MFA service: enrolment, TOTP checks that refuse reuse, backup codes, password re-checks."""

from __future__ import annotations

import pyotp
import pytest
from sqlalchemy import select, update

from app.extensions import redis_client
from app.models import AuditEvent, MfaBackupCode, User
from app.services import mfa
from app.services.encryption import decrypt_text
from app.services.errors import Conflict, Invalid
from tests import factories

# A fixed clock: every TOTP check below names its time, so slow test runs cannot cross steps.
NOW = 1_700_000_010.0


def code_at(secret: str, step_offset: int = 0, at: float = NOW) -> str:
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(totp.timecode(at) + step_offset)


def enrolled(user: User) -> tuple[str, list[str]]:
    """Turn MFA on for `user`; returns the secret and the backup codes."""
    secret = mfa.propose(user).secret
    codes = mfa.confirm(user, code_at(secret, -1), at=NOW)  # step before NOW: NOW's code is new
    return secret, codes


def events(user: User) -> list[str]:
    return list(
        mfa.db.session.scalars(
            select(AuditEvent.event).where(AuditEvent.item_id == user.id).order_by(AuditEvent.id)
        )
    )


def test_enrolment_proposes_an_encrypted_secret_and_keeps_it_until_confirmed(user):
    enrolment = mfa.propose(user)
    assert len(enrolment.secret) == 32
    assert enrolment.uri.startswith("otpauth://totp/Ferry:")
    assert "issuer=Ferry" in enrolment.uri
    assert enrolment.secret.encode() not in user.totp_secret_encrypted
    assert decrypt_text(user.totp_secret_encrypted) == enrolment.secret
    assert not user.mfa_enabled
    assert mfa.propose(user).secret == enrolment.secret  # a reload shows the same QR code


def test_confirming_with_a_code_turns_mfa_on_and_gives_ten_backup_codes(user):
    secret = mfa.propose(user).secret
    codes = mfa.confirm(user, code_at(secret), at=NOW)
    assert user.mfa_enabled and user.totp_confirmed_at is not None
    assert len(codes) == 10 and len(set(codes)) == 10
    assert mfa.remaining_backup_codes(user.id) == 10
    assert "mfa_enabled" in events(user)


def test_confirming_with_a_wrong_code_leaves_mfa_off(user):
    secret = mfa.propose(user).secret
    wrong = f"{(int(code_at(secret)) + 1) % 1_000_000:06d}"
    with pytest.raises(Invalid) as refused:
        mfa.confirm(user, wrong, at=NOW)
    assert refused.value.field == "code"
    assert not user.mfa_enabled
    for bad in ("", "12345", "abcdef", "1" * 1000, "12\x003456"):
        with pytest.raises(Invalid):
            mfa.confirm(user, bad, at=NOW)
    assert mfa.remaining_backup_codes(user.id) == 0


def test_proposing_or_confirming_again_once_on_is_a_conflict(user):
    secret, _ = enrolled(user)
    with pytest.raises(Conflict):
        mfa.propose(user)
    with pytest.raises(Conflict):
        mfa.confirm(user, code_at(secret), at=NOW)


def test_a_correct_code_is_accepted_once_and_never_again(user):
    secret, _ = enrolled(user)
    code = code_at(secret)
    assert mfa.verify(user, code, at=NOW) == "totp"
    assert mfa.verify(user, code, at=NOW) is None
    assert mfa.verify(user, code, at=NOW + 10) is None


def test_a_code_from_the_previous_step_is_accepted_once_but_not_after_a_newer_one(user):
    secret, _ = enrolled(user)
    previous_step = code_at(secret, -1, at=NOW + 30)  # NOW's code, checked a step later
    assert mfa.verify(user, code_at(secret, 0, at=NOW + 30), at=NOW + 30) == "totp"
    assert mfa.verify(user, previous_step, at=NOW + 30) is None  # older than the newest used

    other = factories.user()
    other_secret, _ = enrolled(other)
    assert mfa.verify(other, code_at(other_secret, -1, at=NOW + 30), at=NOW + 30) == "totp"
    assert mfa.verify(other, code_at(other_secret, -1, at=NOW + 30), at=NOW + 30) is None
    assert mfa.verify(other, code_at(other_secret, 0, at=NOW + 30), at=NOW + 30) == "totp"


def test_a_code_two_steps_old_is_refused(user):
    secret, _ = enrolled(user)
    assert mfa.verify(user, code_at(secret, -2, at=NOW + 60), at=NOW + 60) is None


def test_a_stale_user_row_cannot_accept_a_code_another_request_already_used(user, db):
    """The counter moves in the database, not on the loaded object: two requests that loaded
    the user before either used the code cannot both pass."""
    secret, _ = enrolled(user)
    code = code_at(secret)
    step = pyotp.TOTP(secret).timecode(NOW)
    db.session.execute(
        update(User)
        .where(User.id == user.id)
        .values(totp_last_counter=step)
        .execution_options(synchronize_session=False)
    )
    assert user.totp_last_counter == step - 1  # the loaded row is stale
    assert mfa.verify(user, code, at=NOW) is None


def test_backup_codes_are_stored_as_keyed_digests_and_work_once(user, db):
    _, codes = enrolled(user)
    digests = list(db.session.scalars(select(MfaBackupCode.code_digest)))
    assert all(d.startswith("hmac-sha256:") for d in digests)
    assert not any(code.replace("-", "") in d for code in codes for d in digests)

    assert mfa.verify(user, codes[0]) == "backup_code"
    assert mfa.verify(user, codes[0]) is None
    assert mfa.verify(user, codes[1].upper().replace("-", " ")) == "backup_code"
    assert mfa.remaining_backup_codes(user.id) == 8
    assert events(user).count("mfa_backup_code_used") == 2


def test_wrong_codes_count_until_the_user_must_wait(user, app):
    secret, _ = enrolled(user)
    limit = app.config["FERRY_SETTINGS"].login_attempts_per_account
    try:
        for _ in range(limit):
            assert mfa.verify(user, "nope-nope-nope") is None
        with pytest.raises(mfa.TooManyAttempts) as locked:
            mfa.verify(user, code_at(secret), at=NOW)
        assert "Try again in 15 minutes" in locked.value.message
    finally:
        redis_client().delete(f"ferry:mfa-failures:{user.id}")


def test_regenerating_codes_needs_the_password_and_replaces_the_old_ones(user):
    _, old = enrolled(user)
    with pytest.raises(Invalid) as refused:
        mfa.regenerate_backup_codes(user, "not my password")
    assert refused.value.field == "password"
    assert mfa.verify(user, old[0]) == "backup_code"

    new = mfa.regenerate_backup_codes(user, factories.PASSWORD)
    assert set(new).isdisjoint(old)
    assert mfa.verify(user, old[1]) is None
    assert mfa.remaining_backup_codes(user.id) == 10
    assert "mfa_backup_codes_regenerated" in events(user)


def test_disabling_needs_the_password_and_erases_secret_and_codes(user):
    enrolled(user)
    with pytest.raises(Invalid):
        mfa.disable(user, "")
    assert user.mfa_enabled

    mfa.disable(user, factories.PASSWORD)
    assert not user.mfa_enabled
    assert user.totp_secret_encrypted is None and user.totp_last_counter is None
    assert mfa.remaining_backup_codes(user.id) == 0
    assert "mfa_disabled" in events(user)
    with pytest.raises(Conflict):
        mfa.disable(user, factories.PASSWORD)
    with pytest.raises(Conflict):
        mfa.regenerate_backup_codes(user, factories.PASSWORD)


def test_verify_refuses_everything_for_a_user_without_mfa(user):
    assert mfa.verify(user, "123456") is None
    mfa.propose(user)  # proposed but not confirmed
    assert mfa.verify(user, "123456") is None


def test_pending_user_is_only_an_active_user_with_mfa(user, db):
    assert mfa.pending_user(str(user.id)) is None
    enrolled(user)
    assert mfa.pending_user(str(user.id)) is user
    assert mfa.pending_user("not-a-uuid") is None
    user.disabled = True
    db.session.commit()
    assert mfa.pending_user(str(user.id)) is None
