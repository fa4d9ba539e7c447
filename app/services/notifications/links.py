"""Signed links in notification mails: "turn off these alerts" without signing in.

A link carries who (user id), which project, what to turn off and optionally which
workflow, signed with SECRET_KEY (itsdangerous), so a changed link is refused. Links do not
expire: a mail read months later must still be able to stop the mails. They only ever turn
something off, so a forwarded mail can at worst silence its own recipient.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from app.services.errors import Invalid

# What a link may turn off.
FAILURE_ALERTS = "failure_alerts"  # for the whole project, or one workflow
DIGEST = "digest"
CHANGE_NOTICES = "change_notices"
KINDS = (FAILURE_ALERTS, DIGEST, CHANGE_NOTICES)

_SALT = "ferry-unsubscribe"


@dataclass(frozen=True)
class Unsubscribe:
    """What a valid link asks to turn off."""

    user_id: uuid.UUID
    project_id: uuid.UUID
    kind: str
    workflow_id: uuid.UUID | None = None


def unsubscribe_token(request: Unsubscribe) -> str:
    """The signed token for a link (put it in `/unsubscribe/<token>`)."""
    if request.kind not in KINDS:
        raise ValueError(f"unknown notification kind {request.kind!r}")
    payload = [str(request.user_id), str(request.project_id), request.kind]
    if request.workflow_id is not None:
        payload.append(str(request.workflow_id))
    return _serializer().dumps(payload)


def unsubscribe_url(request: Unsubscribe) -> str:
    """The absolute link for a mail, on Ferry's public address (BASE_URL)."""
    base = current_app.config["FERRY_SETTINGS"].base_url
    return f"{base}/unsubscribe/{unsubscribe_token(request)}"


def read_unsubscribe_token(token: str) -> Unsubscribe:
    """The request a token carries, or Invalid when it was changed or is not one of ours."""
    refused = Invalid(
        "token",
        "This link is not valid: it may have been cut short or changed. Open the link from "
        "the mail again, or change your choices on the project's settings page.",
    )
    if not isinstance(token, str) or len(token) > 1000:
        raise refused
    try:
        payload = _serializer().loads(token)
    except BadSignature:
        raise refused from None
    try:
        user, project, kind, *rest = payload
        workflow = uuid.UUID(rest[0]) if rest else None
        request = Unsubscribe(uuid.UUID(user), uuid.UUID(project), kind, workflow)
    except (TypeError, ValueError, IndexError, AttributeError):
        raise refused from None
    if request.kind not in KINDS or len(rest) > 1:
        raise refused
    return request


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)
