"""Self sign-up: someone creates their own account (in no project) when the instance allows."""

from __future__ import annotations

from flask import current_app

from app.extensions import db
from app.models import User
from app.services import accounts, audit
from app.services.errors import Invalid, NotFound

MAX_NAME_LENGTH = 200


def sign_up(email: str, password: str, *, name: str = "") -> User:
    """Create an account with the usual password rules; NotFound when sign-up is off."""
    if not current_app.config["FERRY_SETTINGS"].allow_signup:
        raise NotFound("Sign-up is not open on this Ferry; ask an administrator to invite you.")
    name = " ".join((name or "").split())
    if "\x00" in name:
        raise Invalid("name", "The name contains a NUL character (\\u0000); remove it.")
    if len(name) > MAX_NAME_LENGTH:
        raise Invalid("name", f"The name is too long: at most {MAX_NAME_LENGTH} characters.")
    if not isinstance(password, str) or not password:
        raise Invalid("password", "Choose a password.")
    user = accounts.create_user(email, password, name=name)
    audit.record("user", user.id, "signed_up", user.id, {"email": user.email})
    db.session.commit()
    return user
