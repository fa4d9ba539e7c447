"""Load-or-404 and the owner check for credential routes; every credential view calls it
first (NotFound and Forbidden become 404 and 403 pages)."""

from __future__ import annotations

import uuid

from flask_login import current_user

from app.models import Credential
from app.services.credentials import lookup


def credential_access(credential_id: uuid.UUID, *, owner_only: bool = False) -> Credential:
    """The credential if the current user may see it (404 otherwise); with `owner_only`,
    403 for anyone but its owner."""
    return lookup.credential_for(current_user, credential_id, owner_only=owner_only)
