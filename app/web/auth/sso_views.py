"""Sign-in with an OpenID Connect provider. (Issue 13 fills this in.)"""

from __future__ import annotations

from app.web.auth.blueprint import bp  # noqa: F401


def password_refusal(email: str) -> str | None:
    """A message when `email`'s domain must sign in through SSO only; None otherwise."""
    return None
