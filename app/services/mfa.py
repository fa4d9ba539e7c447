"""Two-factor authentication: TOTP enrolment and checks, single-use backup codes, turning it off.

Long because one module keeps every rule about a user's second factor together: the TOTP
secret (encrypted at rest), the time-step counter that stops a code being used twice, the
backup codes, the password re-check for changes, and the count of wrong attempts.

Codes: RFC 6238 TOTP, 30-second steps, 6 digits, one step of clock drift either way. A
code is accepted only when its time step is newer than the last accepted one, and the
counter moves in one conditional UPDATE, so two requests racing with the same code cannot
both pass.

Backup codes: 60 random bits each, stored as HMAC-SHA256 keyed with SECRET_KEY. They are
random, not chosen by people, so a slow password hash (argon2) buys nothing but a slow sign-in,
and the key means a copy of the database alone does not even allow guessing offline. The
cost: changing SECRET_KEY makes the stored backup codes unusable (people make new ones).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Literal

import pyotp
from flask import current_app
from sqlalchemy import delete, func, select, update

from app.extensions import db, redis_client
from app.models import MfaBackupCode, User
from app.models.base import utcnow
from app.services import audit, passwords
from app.services.encryption import decrypt_text, encrypt_text
from app.services.errors import Conflict, Invalid

ISSUER = "Ferry"
DIGITS = 6
STEP_SECONDS = 30
VALID_WINDOW = 1  # steps of clock drift accepted either side of now
BACKUP_CODE_COUNT = 10
BACKUP_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i look-alikes
BACKUP_CODE_LENGTH = 12  # 12 * log2(31) = 59.5 bits
MAX_CODE_CHARS = 64  # longer input is never a code; refused before any work
Method = Literal["totp", "backup_code"]
WRONG_ENROL_CODE = (
    "That code does not match. Enter the newest 6-digit code your app shows "
    "(and check that your phone's clock is right)."
)


class TooManyAttempts(Invalid):
    """Too many wrong codes or passwords lately; `seconds` until the next try is allowed."""

    def __init__(self, field: str, seconds: int) -> None:
        minutes = max(1, -(-seconds // 60))
        super().__init__(
            field, f"Too many wrong attempts. Try again in {minutes} minute{'s' * (minutes != 1)}."
        )
        self.seconds = seconds


@dataclass(frozen=True)
class Enrolment:
    """A proposed TOTP secret and the otpauth:// URI an authenticator app reads from the QR."""

    secret: str
    uri: str


def propose(user: User) -> Enrolment:
    """The secret to enrol with: the one already proposed (so reloading the page keeps the QR
    code someone may have scanned), or a new one stored encrypted until a code confirms it."""
    if user.mfa_enabled:
        raise Conflict("Two-factor authentication is already on.")
    if user.totp_secret_encrypted is None:
        user.totp_secret_encrypted = encrypt_text(pyotp.random_base32())
        user.totp_last_counter = None
        db.session.commit()
    secret = decrypt_text(user.totp_secret_encrypted)
    uri = _totp(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    return Enrolment(secret=secret, uri=uri)


def confirm(user: User, code: str, *, at: float | None = None) -> list[str]:
    """Turn MFA on once `code` proves the authenticator holds the proposed secret; returns the
    new backup codes (shown once)."""
    if user.mfa_enabled:
        raise Conflict("Two-factor authentication is already on.")
    if user.totp_secret_encrypted is None:
        raise Conflict("Start again: open the set-up page to get a new QR code.")
    digits = _totp_shape(_normalise(code))
    step = _matching_step(user, digits, at)
    if step is None:
        raise Invalid("code", WRONG_ENROL_CODE)
    done = db.session.execute(
        update(User)
        .where(User.id == user.id, User.totp_confirmed_at.is_(None))
        .values(totp_confirmed_at=utcnow(), totp_last_counter=step)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # another request confirmed it a moment ago
        raise Conflict("Two-factor authentication is already on.")
    codes = _replace_backup_codes(user.id)
    audit.record("user", user.id, "mfa_enabled", user.id, {})
    db.session.commit()
    db.session.refresh(user)
    return codes


def verify(user: User, code: str, *, at: float | None = None) -> Method | None:
    """How `code` proves the second factor ("totp" or "backup_code"), or None when it does not.

    Six digits are a TOTP code, anything else a backup code. A code is used up by this call:
    the same TOTP code (or an older one) and the same backup code are refused afterwards.
    A wrong code counts toward the user's limit; past it, TooManyAttempts. Input that can
    never be a code raises Invalid('code') and counts for nothing.
    """
    if not user.mfa_enabled or user.totp_secret_encrypted is None:
        return None
    normal = _normalise(code)
    wait = seconds_locked(user.id)
    if wait:
        raise TooManyAttempts("code", wait)
    if len(normal) == DIGITS and normal.isascii() and normal.isdigit():
        step = _matching_step(user, normal, at)
        if step is not None and _advance_counter(user, step):
            return "totp"
    elif _use_backup_code(user, normal):
        return "backup_code"
    note_failure(user.id)
    return None


def regenerate_backup_codes(user: User, password: str) -> list[str]:
    """New backup codes replacing all the old ones, after the password is checked again."""
    _check_password(user, password)
    if not user.mfa_enabled:
        raise Conflict("Two-factor authentication is off, so there are no backup codes.")
    codes = _replace_backup_codes(user.id)
    audit.record("user", user.id, "mfa_backup_codes_regenerated", user.id, {})
    db.session.commit()
    return codes


def disable(user: User, password: str) -> None:
    """Turn MFA off after the password is checked again: the secret and the codes are erased."""
    _check_password(user, password)
    if not user.mfa_enabled:
        raise Conflict("Two-factor authentication is already off.")
    erase(user)
    audit.record("user", user.id, "mfa_disabled", user.id, {})
    db.session.commit()


def remaining_backup_codes(user_id: uuid.UUID) -> int:
    """How many of the user's backup codes are still unused."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(MfaBackupCode)
            .where(MfaBackupCode.user_id == user_id, MfaBackupCode.used_at.is_(None))
        )
        or 0
    )


def pending_user(user_id: str) -> User | None:
    """The user half-way through signing in, if they still may: active and with MFA on."""
    try:
        parsed = uuid.UUID(str(user_id))
    except ValueError:
        return None
    user = db.session.get(User, parsed)
    if user is None or user.disabled or not user.mfa_enabled:
        return None
    return user


# Wrong codes and passwords, counted per user in Redis for the sign-in window: the count
# must live on the server, since the browser could replay an older session cookie.


def seconds_locked(user_id: uuid.UUID) -> int:
    """Seconds until this user may try a code or password again (0: they may now)."""
    settings = current_app.config["FERRY_SETTINGS"]
    key = _failures_key(user_id)
    count = redis_client().get(key)
    if count is None or int(count) < settings.login_attempts_per_account:
        return 0
    return max(int(redis_client().ttl(key)), 1)


def note_failure(user_id: uuid.UUID) -> None:
    """Count one wrong code or password toward this user's limit."""
    settings = current_app.config["FERRY_SETTINGS"]
    key = _failures_key(user_id)
    pipe = redis_client().pipeline()
    pipe.incr(key)
    pipe.expire(key, settings.login_attempt_window_minutes * 60, nx=True)
    pipe.execute()


def _failures_key(user_id: uuid.UUID) -> str:
    return f"ferry:mfa-failures:{user_id}"


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)


def _normalise(code: str) -> str:
    """The code as typed, without spaces or dashes, lower case; refuses what is never a code."""
    if not isinstance(code, str) or not code.strip():
        raise Invalid("code", "Enter the 6-digit code from your authenticator app.")
    if len(code) > MAX_CODE_CHARS:
        raise Invalid("code", f"That is too long for a code (at most {MAX_CODE_CHARS} characters).")
    if "\x00" in code:
        raise Invalid("code", "The code contains a NUL character (\\u0000); remove it.")
    return "".join(ch for ch in code if ch not in " -\t").lower()


def _totp_shape(normal: str) -> str:
    if not (normal.isascii() and normal.isdigit() and len(normal) == DIGITS):
        raise Invalid("code", f"Enter the {DIGITS}-digit code from your authenticator app.")
    return normal


def _matching_step(user: User, digits: str, at: float | None) -> int | None:
    """The time step (within the drift window) whose code is `digits`, newest first."""
    totp = _totp(decrypt_text(user.totp_secret_encrypted))
    now_step = totp.timecode(time.time() if at is None else at)
    for step in range(now_step + VALID_WINDOW, now_step - VALID_WINDOW - 1, -1):
        if hmac.compare_digest(totp.generate_otp(step), digits):
            return step
    return None


def _advance_counter(user: User, step: int) -> bool:
    """Record `step` as the last used one, only if it is newer than the stored one. One
    conditional UPDATE: a parallel request with the same code waits for this row lock, then
    finds the condition false."""
    done = db.session.execute(
        update(User)
        .where(
            User.id == user.id,
            (User.totp_last_counter.is_(None)) | (User.totp_last_counter < step),
        )
        .values(totp_last_counter=step)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if done.rowcount == 1:
        user.totp_last_counter = step
        return True
    return False


def _use_backup_code(user: User, normal: str) -> bool:
    """Mark the matching unused backup code used (one conditional UPDATE, so a code cannot
    be spent twice by parallel requests)."""
    used = db.session.execute(
        update(MfaBackupCode)
        .where(
            MfaBackupCode.user_id == user.id,
            MfaBackupCode.code_digest == _digest(normal),
            MfaBackupCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .returning(MfaBackupCode.id)
        .execution_options(synchronize_session=False)
    ).first()
    if used is None:
        return False
    audit.record(
        "user",
        user.id,
        "mfa_backup_code_used",
        user.id,
        {"remaining": remaining_backup_codes(user.id)},
    )
    db.session.commit()
    return True


def _replace_backup_codes(user_id: uuid.UUID) -> list[str]:
    """Delete the user's backup codes and add new ones (in the caller's transaction)."""
    db.session.execute(delete(MfaBackupCode).where(MfaBackupCode.user_id == user_id))
    codes = [_new_backup_code() for _ in range(BACKUP_CODE_COUNT)]
    db.session.add_all(MfaBackupCode(user_id=user_id, code_digest=_digest(c)) for c in codes)
    return [f"{c[:4]}-{c[4:8]}-{c[8:]}" for c in codes]


def _new_backup_code() -> str:
    return "".join(secrets.choice(BACKUP_CODE_ALPHABET) for _ in range(BACKUP_CODE_LENGTH))


def _digest(normal: str) -> str:
    key = current_app.config["FERRY_SETTINGS"].secret_key.encode()
    message = b"ferry-mfa-backup-code:" + normal.encode()
    return "hmac-sha256:" + hmac.new(key, message, hashlib.sha256).hexdigest()


def _check_password(user: User, password: str) -> None:
    """Invalid('password') unless `password` is the user's; wrong ones count toward the limit."""
    wait = seconds_locked(user.id)
    if wait:
        raise TooManyAttempts("password", wait)
    if user.password_hash is None:
        raise Invalid(
            "password",
            "Your account has no password (you sign in through single sign-on). "
            "Set one with “Forgot your password?” on the sign-in page first.",
        )
    if not passwords.verify(user.password_hash, password or ""):
        note_failure(user.id)
        raise Invalid("password", "That is not your password.")


def erase(user: User) -> None:
    """Remove the user's TOTP secret and backup codes (in the caller's transaction)."""
    db.session.execute(delete(MfaBackupCode).where(MfaBackupCode.user_id == user.id))
    user.totp_secret_encrypted = None
    user.totp_confirmed_at = None
    user.totp_last_counter = None
