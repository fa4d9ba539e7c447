"""The one error an SSO sign-in raises when it cannot go on: it carries the HTTP status and a
short reason code (for the audit log), and its message is written for the person signing in."""

from __future__ import annotations

from app.services.errors import ServiceError


class Refused(ServiceError):
    """The sign-in stops here. `status`: 400 (the browser's request is wrong: state, code),
    403 (the person may not sign in), 409 (the account is linked elsewhere), 502 (the
    provider answered wrongly) or 503 (the provider did not answer)."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
