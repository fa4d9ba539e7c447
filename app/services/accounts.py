"""Users and their sessions; API tokens live in services.api_tokens (kept reachable here
for older callers)."""

from __future__ import annotations

import secrets
import uuid

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select

from app.extensions import db
from app.models import User
from app.models.base import utcnow
from app.services import api_tokens, passwords
from app.services.errors import Invalid, NotFound

MIN_PASSWORD_LENGTH = passwords.MIN_LENGTH


def normalise_email(raw: str) -> str:
    """A syntactically valid, lower-cased email address, or Invalid('email')."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise Invalid("email", f"That email address is not valid: {error}") from None


def create_user(
    email: str, password: str | None, *, name: str = "", superuser: bool = False
) -> User:
    """Create a user; the password must pass passwords.validate_new_password and is hashed."""
    email = normalise_email(email)
    if password is not None:
        passwords.validate_new_password(password, email=email)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Invalid("email", f"A user with the email {email} already exists.")
    user = User(
        email=email,
        name=name.strip(),
        password_hash=passwords.hash(password) if password else None,
        is_superuser=superuser,
        session_nonce=_new_session_nonce(),
    )
    db.session.add(user)
    db.session.commit()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user whose email and password match and who is not disabled; otherwise None.

    The caller gets no reason on purpose: a login page must not reveal whether the email,
    the password or the account state was wrong.
    """
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if not passwords.verify(user.password_hash if user is not None else None, password):
        return None
    if user is None or user.password_hash is None or user.disabled:
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash(password)
    user.last_login_at = utcnow()
    db.session.commit()
    return user


def load_session_user(session_id: str) -> User | None:
    """The user for a Flask-Login session id `<uuid>:<nonce>`, if still valid."""
    user_id, _, nonce = session_id.partition(":")
    try:
        parsed = uuid.UUID(user_id)
    except ValueError:
        return None
    user = db.session.get(User, parsed)
    if user is None or user.disabled or not secrets.compare_digest(user.session_nonce, nonce):
        return None
    return user


def sign_out_everywhere(user_id: uuid.UUID) -> None:
    """End every session and remember cookie of this user, on every device.

    Every sign-out path goes through here. Flask-Login's session id and its remember cookie
    both carry `User.get_id()` = `<id>:<nonce>`, and `load_session_user` refuses a stale
    nonce, so a new nonce makes every cookie issued before it worthless on the server, even a
    copy replayed after the browser dropped it. Why all devices rather than this one alone:
    Ferry keeps no server-side record per session, and adding one (a table, a lookup on
    every request) buys only "sign out here but stay signed in there"; ending them all is
    also what someone wants after losing a laptop.
    """
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("That user no longer exists.")
    user.session_nonce = _new_session_nonce()
    db.session.commit()


def create_api_token(email: str, name: str = "") -> str:
    """Create an API token for the user with `email` and return it (see services.api_tokens)."""
    return api_tokens.create_token_for_email(email, name)


def user_for_api_token(token: str) -> User | None:
    """The active user owning this bearer token, or None (see services.api_tokens)."""
    return api_tokens.user_for_token(token)


def count_users() -> int:
    """How many users exist (used to decide whether the demo user must be created)."""
    return db.session.scalar(select(func.count()).select_from(User)) or 0


def _new_session_nonce() -> str:
    return secrets.token_hex(8)
