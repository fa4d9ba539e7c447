"""Sessions as people and the audit log see them: signing out (here, or everywhere),
changing one's password (which ends the other sessions), and the record of failed sign-ins."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.models.base import utcnow
from app.services import accounts, audit, passwords
from app.services.errors import Invalid, NotFound

USER = "user"
# Audit entries about sign-in attempts for an email that matches no account hang off an id
# derived from the email, so attempts at one unknown address are found together.
_UNKNOWN_EMAILS = uuid.UUID("0b6f1cf5-9a3e-4d59-9d1b-6c0f1f6e7a21")


def sign_out(user_id: uuid.UUID) -> None:
    """Sign out: audit it and end the user's sessions (see accounts.sign_out_everywhere
    for why signing out ends them on every device)."""
    audit.record(USER, user_id, "signed_out", user_id)
    accounts.sign_out_everywhere(user_id)


def sign_out_everywhere(user_id: uuid.UUID) -> None:
    """End every session and "keep me signed in" cookie of the user, on every device."""
    audit.record(USER, user_id, "signed_out_everywhere", user_id)
    accounts.sign_out_everywhere(user_id)


def change_password(user_id: uuid.UUID, current: object, new: object) -> User:
    """Replace the user's password after checking the current one; every session of theirs
    ends (the caller starts a fresh one for the browser that asked)."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("That user no longer exists.")
    if not isinstance(current, str) or not current:
        raise Invalid("current_password", "Enter your current password.")
    if user.password_hash is None:
        raise Invalid(
            "current_password",
            "Your account signs in through single sign-on and has no password to change.",
        )
    if not passwords.verify(user.password_hash, current):
        raise Invalid("current_password", "That is not your current password.")
    passwords.validate_new_password(new, email=user.email)
    if passwords.verify(user.password_hash, str(new)):
        raise Invalid("new_password", "The new password is the same as the current one.")
    user.password_hash = passwords.hash(str(new))
    user.password_changed_at = utcnow()
    audit.record(USER, user.id, "password_changed", user.id)
    accounts.sign_out_everywhere(user.id)  # commits the change and the audit entry together
    return user


def record_failed_sign_in(email: str, address: str | None) -> None:
    """Write a "sign_in_failed" entry: about the user when the email is theirs, otherwise
    about the address typed. The password is never part of it; neither is a typed "email"
    that is not one (people sometimes type their password into the wrong field)."""
    try:
        typed = accounts.normalise_email(email)
    except Invalid:
        typed = None
    user_id = None
    if typed is not None:
        user_id = db.session.scalar(select(User.id).where(User.email == typed))
    changes = {"email": typed or "(not an email address)", "address": address}
    if user_id is not None:
        audit.record(USER, user_id, "sign_in_failed", None, changes)
    else:
        item_id = uuid.uuid5(_UNKNOWN_EMAILS, typed or "")
        audit.record("sign_in", item_id, "sign_in_failed", None, changes)
    db.session.commit()
