"""A credential's page as one viewer may see it: values for the owner, the projects and steps
that use it, its audit trail and any transfer in progress. It reads from every other
credentials module, which is why it lives above them."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass

from app.extensions import db
from app.models import Credential, Project, User
from app.services import audit
from app.services.credentials import forms, oauth, sharing, store, transfers
from app.services.credentials.labels import label_for
from app.services.credentials.sharing import StepUse
from app.services.errors import NotFound


@dataclass(frozen=True)
class CredentialOverview:
    """Everything a credential's page shows to one viewer; secrets excluded by design."""

    credential: Credential
    is_owner: bool
    owner: User
    type_label: str
    oauth_client: str | None
    values: dict  # non-secret fields, for the owner only
    stored_secrets: tuple[str, ...]
    labels: dict[str, str]  # every body key (and name, production) in words
    projects: tuple[Project, ...]
    shareable: tuple[Project, ...]
    steps: tuple[StepUse, ...]
    trail: tuple  # audit entries, for the owner and superusers
    pending: tuple | None  # (transfer, recipient) for the owner
    needs_reauthorization: bool


def overview(viewer: User, credential: Credential) -> CredentialOverview:
    """The credential's page as `viewer` may see it (call after `credential_for`)."""
    is_owner = credential.user_id == viewer.id
    visible = sharing.visible_project_ids(viewer)
    values, secrets_ = store.stored_values(credential) if is_owner else ({}, set())
    trail = audit.trail(audit.CREDENTIAL, credential.id) if is_owner or viewer.is_superuser else []
    token_events = [e.event for e in trail if e.event in TOKEN_EVENTS]
    client = oauth.get_client(credential.oauth_client_id) if credential.oauth_client_id else None
    projects = sharing.shared_projects(credential.id)
    return CredentialOverview(
        credential=credential,
        is_owner=is_owner,
        owner=db.session.get(User, credential.user_id),
        type_label=forms.type_label(credential.schema),
        oauth_client=client.name if client else None,
        values=values,
        stored_secrets=tuple(sorted(secrets_)),
        labels=_labels(credential.schema, [*values, *secrets_, *_audited_fields(trail)]),
        projects=tuple(p for p in projects if is_owner or visible is None or p.id in visible),
        shareable=tuple(sharing.shareable_projects(viewer, credential.id)) if is_owner else (),
        steps=tuple(sharing.steps_using(credential.id, None if is_owner else visible)),
        trail=tuple(trail),
        pending=transfers.pending_transfer(credential.id) if is_owner else None,
        needs_reauthorization=bool(token_events) and token_events[0] == "token_refresh_failed",
    )


TOKEN_EVENTS = {"created", "reauthorized", "token_refreshed", "token_refresh_failed"}


def _labels(schema_name: str, keys) -> dict[str, str]:
    """Each key in words: the schema's title where it has one, else the key humanised."""
    titles = {}
    # An adaptor that is gone has no titles left; its keys are still worth naming.
    with suppress(NotFound):
        if schema_name not in {forms.RAW, forms.OAUTH}:
            titles = {f.name: f.label for f in forms.credential_type(schema_name).fields}
    return {key: label_for(titles, key) for key in keys}


def _audited_fields(trail) -> list[str]:
    return [name for entry in trail for name in (entry.changes or {}).get("fields", [])]
