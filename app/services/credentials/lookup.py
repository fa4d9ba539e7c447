"""Finding a credential and checking who may act on it: the part of credentials that both
storage and the OAuth flow need, kept apart so that neither imports the other."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from app.extensions import db
from app.models import Credential, ProjectCredential, ProjectMember, User
from app.services.errors import Forbidden, Invalid, NotFound

MAX_NAME_LENGTH = 200


def get_credential(credential_id: uuid.UUID) -> Credential:
    """The credential with this id, or NotFound."""
    credential = db.session.get(Credential, credential_id)
    if credential is None:
        raise NotFound("There is no such credential.")
    return credential


def credential_for(user: User, credential_id: uuid.UUID, *, owner_only: bool = False):
    """The credential if `user` may see it (owner, superuser, or member of a project it is
    shared into), else NotFound; with `owner_only`, Forbidden for anyone but the owner."""
    credential = get_credential(credential_id)
    if credential.user_id != user.id and not user.is_superuser:
        shared_with_user = db.session.scalar(
            select(ProjectCredential.id)
            .join(ProjectMember, ProjectMember.project_id == ProjectCredential.project_id)
            .where(
                ProjectCredential.credential_id == credential.id,
                ProjectMember.user_id == user.id,
            )
            .limit(1)
        )
        if shared_with_user is None:
            raise NotFound("There is no such credential, or it is not shared with you.")
    if owner_only:
        require_owner(user, credential)
    return credential


def require_owner(user: User, credential: Credential) -> None:
    """Forbidden unless `user` owns the credential (superusers included: secrets belong to
    people, not to the instance)."""
    if credential.user_id != user.id:
        owner = db.session.get(User, credential.user_id)
        raise Forbidden(
            f"Only the credential's owner ({owner.display_name if owner else 'unknown'}) "
            "can change, share, transfer or delete it."
        )


def valid_name(owner_id: uuid.UUID, name: str, exclude_id: uuid.UUID | None) -> str:
    """The tidied name, or Invalid when empty, too long or used by another of the owner's."""
    name = " ".join((name or "").split())
    if not name:
        raise Invalid("name", "Give the credential a name, e.g. “DHIS2 production”.")
    if len(name) > MAX_NAME_LENGTH:
        raise Invalid("name", f"The name is too long: at most {MAX_NAME_LENGTH} characters.")
    if "\x00" in name:
        # PostgreSQL cannot store it (nor compare with it): say so before the query below.
        raise Invalid("name", "The name contains a NUL character (\\u0000); remove it.")
    clash = db.session.scalar(
        select(Credential.id).where(Credential.user_id == owner_id, Credential.name == name)
    )
    if clash is not None and clash != exclude_id:
        raise Invalid("name", f"You already have a credential named “{name}”.")
    return name
