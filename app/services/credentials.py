"""Credentials: user-owned secrets, encrypted at rest, shared into projects."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from app.extensions import db
from app.models import Credential
from app.services.encryption import decrypt_json


def bodies_for_run(credential_ids: set[uuid.UUID]) -> dict[uuid.UUID, dict]:
    """The decrypted bodies of the credentials a run's steps use (only the executor calls
    this; the bodies go to the sandbox as `configuration` and to the scrubber)."""
    if not credential_ids:
        return {}
    rows = db.session.execute(
        select(Credential.id, Credential.body_encrypted).where(Credential.id.in_(credential_ids))
    ).all()
    return {credential_id: decrypt_json(body) for credential_id, body in rows}
