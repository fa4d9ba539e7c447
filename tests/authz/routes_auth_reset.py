"""Matrix entries for the password reset pages and self sign-up (app/web/auth/reset_views.py,
signup_views.py): open to everyone; sign-up answers 404 while FERRY_ALLOW_SIGNUP is off."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from app.extensions import db
from app.models import PasswordReset
from app.models.base import utcnow
from tests.authz.rules import ROLES, Rule


def _reset_token(world) -> str:
    """A valid reset link for world.viewer (made inside the case's savepoint)."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        PasswordReset(
            user_id=world.viewer.id,
            token_digest=hashlib.sha256(token.encode()).hexdigest(),
            expires_at=utcnow() + timedelta(days=1),
        )
    )
    db.session.flush()
    return token


RESET_LINK = {"token": _reset_token}
SIGNUP_OFF = {role: 404 for role in ROLES}

ROUTES = {
    "auth.forgot_password": Rule("public"),
    "auth.send_reset_link": Rule("public", data={"email": "nobody@authz.example.org"}),
    "auth.reset_password_form": Rule("public", params=RESET_LINK),
    "auth.reset_password": Rule("public", params=RESET_LINK, note="no password sent: 422"),
    "auth.signup_form": Rule("public", expect=SIGNUP_OFF, note="sign-up is off in tests"),
    "auth.create_account": Rule("public", expect=SIGNUP_OFF, note="sign-up is off in tests"),
}
