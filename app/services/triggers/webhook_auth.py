"""Trigger settings that are not part of the workflow document: webhook authentication."""

from __future__ import annotations

import secrets
import uuid

from app.extensions import db
from app.models import Trigger, TriggerType, WebhookAuth
from app.services.encryption import encrypt_text
from app.services.errors import Invalid, NotFound


def configure_webhook_auth(
    trigger_id: uuid.UUID, method: WebhookAuth, *, username: str | None = None
) -> str | None:
    """Set how callers authenticate; returns the new secret (API key or Basic password),
    which is shown once and stored only encrypted."""
    trigger = db.session.get(Trigger, trigger_id)
    if trigger is None or trigger.type is not TriggerType.WEBHOOK:
        raise NotFound("There is no such webhook trigger.")
    secret = None
    if method is WebhookAuth.NONE:
        trigger.webhook_username, trigger.webhook_secret_encrypted = None, None
    else:
        if method is WebhookAuth.BASIC and not (username or "").strip():
            raise Invalid("username", "Basic authentication needs a username.")
        secret = secrets.token_urlsafe(24)
        trigger.webhook_username = username.strip() if method is WebhookAuth.BASIC else None
        trigger.webhook_secret_encrypted = encrypt_text(secret)
    trigger.webhook_auth = method
    db.session.commit()
    return secret
