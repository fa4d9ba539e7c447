"""Password reset by an emailed single-use link, valid one day. Only a SHA-256 digest of the
link's token is stored; using it sets the new password and ends every session of the user."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import PasswordReset, User
from app.models.base import utcnow
from app.services import accounts, audit, mail, passwords
from app.services.errors import Invalid, NotFound

ITEM = "user"
VALID_FOR = timedelta(days=1)
# At most this many reset mails per account per hour: the form is anonymous, and without a
# cap anyone could fill a person's mailbox with reset links.
MAX_PER_HOUR = 3
# Tokens are 43 characters; anything much longer is not one of ours (and not worth hashing).
MAX_TOKEN_LENGTH = 200
MAX_EMAIL_LENGTH = 320


def request_reset(email: str) -> None:
    """Mail a reset link when `email` belongs to an active account; otherwise do nothing.

    The caller answers the same either way, so the form cannot tell who has an account.
    A new link makes the earlier ones of the same account expire.
    """
    email = email.strip().lower() if isinstance(email, str) else ""
    if not email or "\x00" in email or len(email) > MAX_EMAIL_LENGTH:
        return  # cannot be anyone's address
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None or user.disabled:
        return
    now = utcnow()
    recent = db.session.scalar(
        select(func.count())
        .select_from(PasswordReset)
        .where(
            PasswordReset.user_id == user.id,
            PasswordReset.inserted_at > now - timedelta(hours=1),
        )
    )
    if (recent or 0) >= MAX_PER_HOUR:
        return
    _expire_pending(user.id)
    token = secrets.token_urlsafe(32)
    reset = PasswordReset(user_id=user.id, token_digest=_digest(token), expires_at=now + VALID_FOR)
    db.session.add(reset)
    db.session.flush()
    audit.record(ITEM, user.id, "password_reset_requested", None, {"email": user.email})
    db.session.commit()
    mail.send_mail(user.email, "Reset your Ferry password", _text(user, token))


def link(token: str) -> str:
    """The absolute URL of a reset link (what the mail carries)."""
    return f"{current_app.config['FERRY_SETTINGS'].base_url}/password/reset/{token}"


def find_valid(token: str, *, lock: bool = False) -> PasswordReset:
    """The reset this link belongs to, if it can still be used.

    NotFound when no reset has this token (mistyped, crafted); Invalid("token") when it was
    used or has expired, saying what to do next.
    """
    reset = _by_token(token, lock=lock)
    if reset.used_at is not None:
        raise Invalid(
            "token", "This reset link was already used. Request a new one if you need it."
        )
    if reset.expires_at <= utcnow():
        raise Invalid("token", "This reset link has expired (links work for one day).")
    user = db.session.get(User, reset.user_id)
    if user is None or user.disabled:
        raise Invalid("token", "This account is disabled; ask a Ferry administrator.")
    return reset


def reset_password(token: str, password: str) -> User:
    """Set the new password through a valid link; the link then stops working and every
    session of the user ends (the caller may start a fresh one)."""
    # Locked while checked: two tabs submitting the same link use it once.
    reset = find_valid(token, lock=True)
    user = db.session.get(User, reset.user_id)
    passwords.validate_new_password(password, email=user.email)
    now = utcnow()
    user.password_hash = passwords.hash(password)
    user.password_changed_at = now
    reset.used_at = now
    db.session.flush()
    _expire_pending(user.id)
    audit.record(ITEM, user.id, "password_reset", user.id, {"email": user.email})
    # Commits the whole change: password, used link and a new session nonce together.
    accounts.sign_out_everywhere(user.id)
    return user


def _expire_pending(user_id) -> None:
    now = utcnow()
    db.session.execute(
        update(PasswordReset)
        .where(
            PasswordReset.user_id == user_id,
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > now,
        )
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )


def _by_token(token: str, *, lock: bool = False) -> PasswordReset:
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise NotFound("This reset link is not valid. Check that you copied all of it.")
    statement = select(PasswordReset).where(PasswordReset.token_digest == _digest(token))
    reset = db.session.scalar(
        statement.with_for_update().execution_options(populate_existing=True) if lock else statement
    )
    if reset is None:
        raise NotFound("This reset link is not valid. Check that you copied all of it.")
    return reset


def _text(user: User, token: str) -> str:
    return (
        f"Someone (hopefully you) asked to reset the password of your Ferry account "
        f"{user.email}.\n\n"
        f"Open this link to choose a new password:\n{link(token)}\n\n"
        "The link works once and expires in one day. Choosing a new password signs you out "
        "on every device.\n\n"
        "If you did not ask for this, ignore this mail: your password stays as it is.\n"
    )


def _digest(token: str) -> str:
    # Tokens are 256-bit random values, so a fast hash is enough (no brute force possible).
    return hashlib.sha256(token.encode()).hexdigest()
