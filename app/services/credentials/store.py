"""Credentials: user-owned secrets, encrypted at rest, shared into projects.

Secrets go in and never come back out to a page: only `visible_values` (the non-secret
fields) are ever returned for display, and only the executor receives decrypted bodies.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from app.extensions import db
from app.models import Credential, Project, ProjectCredential, ProjectMember, User

# The runtime's Scrubber is pure Python; using the very same one guarantees pages mask
# exactly what stored logs mask.
from app.scrub import Scrubber
from app.services import audit
from app.services.credentials import forms, oauth
from app.services.credentials.lookup import get_credential, require_owner, valid_name
from app.services.encryption import DecryptionFailed, decrypt_json, encrypt_json
from app.services.errors import Invalid


def create_credential(
    owner: User,
    name: str,
    schema_name: str,
    submitted: Mapping[str, Sequence[str]],
    production: bool = False,
    share_into: uuid.UUID | None = None,
) -> Credential:
    """Validate and store a new credential owned by `owner`, encrypted, and audit it; with
    `share_into`, share it into that project (one of the owner's) in the same transaction."""
    name = valid_name(owner.id, name, None)
    if schema_name == forms.OAUTH:
        raise Invalid("schema", "OAuth credentials are created by authorising with the provider.")
    project = _own_project(owner, share_into) if share_into else None
    body = forms.parse_submission(schema_name, submitted)
    credential = Credential(
        user_id=owner.id,
        name=name,
        schema=schema_name,
        body_encrypted=encrypt_json(body),
        production=production,
    )
    db.session.add(credential)
    db.session.flush()
    audit.record(
        audit.CREDENTIAL,
        credential.id,
        "created",
        owner.id,
        {"name": name, "type": schema_name, "fields": sorted(body)},
    )
    if project is not None:
        db.session.add(ProjectCredential(project_id=project.id, credential_id=credential.id))
        audit.record(
            audit.CREDENTIAL,
            credential.id,
            "shared",
            owner.id,
            {"project_id": str(project.id), "project": project.name},
        )
    db.session.commit()
    return credential


def _own_project(owner: User, project_id: uuid.UUID) -> Project:
    """A live project `owner` is a member of (the rule sharing.share applies), or Invalid."""
    project = db.session.scalar(
        select(Project)
        .join(ProjectMember, ProjectMember.project_id == Project.id)
        .where(
            Project.id == project_id,
            ProjectMember.user_id == owner.id,
            Project.deletion_requested_at.is_(None),
        )
    )
    if project is None:
        raise Invalid("share", "You can share a credential only into your own projects.")
    return project


def update_credential(
    actor: User,
    credential_id: uuid.UUID,
    name: str,
    production: bool,
    submitted: Mapping[str, Sequence[str]],
) -> Credential:
    """Change a credential (owner only); blank secrets keep their value. The audit entry
    names the changed fields, never their values."""
    credential = get_credential(credential_id)
    require_owner(actor, credential)
    name = valid_name(actor.id, name, credential.id)
    stored = decrypt_json(credential.body_encrypted)
    if credential.schema == forms.OAUTH:
        body = stored  # tokens change only through the provider (reauthorise, refresh)
    else:
        body = forms.parse_submission(credential.schema, submitted, stored)
    changed = sorted(k for k in set(stored) | set(body) if stored.get(k) != body.get(k))
    if name != credential.name:
        changed.insert(0, "name")
    if production != credential.production:
        changed.insert(0, "production")
    if not changed:
        return credential
    credential.name, credential.production = name, production
    credential.body_encrypted = encrypt_json(body)
    audit.record(audit.CREDENTIAL, credential.id, "updated", actor.id, {"fields": changed})
    db.session.commit()
    return credential


def delete_credential(actor: User, credential_id: uuid.UUID, typed_name: str) -> str:
    """Delete a credential (owner only) after its name was typed; steps using it lose it.
    Returns the name."""
    credential = get_credential(credential_id)
    require_owner(actor, credential)
    if typed_name.strip() != credential.name:
        raise Invalid("confirm_name", "Type the credential's name exactly to delete it.")
    name = credential.name
    if credential.oauth_client_id is not None:
        oauth.revoke_quietly(credential)
    audit.record(audit.CREDENTIAL, credential.id, "deleted", actor.id, {"name": name})
    db.session.delete(credential)
    db.session.commit()
    return name


def stored_values(credential: Credential) -> tuple[dict, set[str]]:
    """For an edit form: the non-secret values, and the names of secrets that hold a value."""
    body = decrypt_json(credential.body_encrypted)
    visible = forms.visible_values(credential.schema, body)
    return visible, {key for key in body if key not in visible}


@dataclass
class RunCredentials:
    """What a run may use: decrypted bodies by id, and why the others cannot be used."""

    bodies: dict[uuid.UUID, dict] = field(default_factory=dict)
    problems: dict[uuid.UUID, str] = field(default_factory=dict)


def credentials_for_run(
    credential_ids: Iterable[uuid.UUID], project_id: uuid.UUID | None = None
) -> RunCredentials:
    """The bodies a run's steps get as `configuration`. OAuth tokens that expired are
    refreshed first; a credential that was deleted, is no longer shared into `project_id`,
    cannot be decrypted or whose refresh failed is reported in `problems` instead."""
    wanted = set(credential_ids)
    result = RunCredentials()
    if not wanted:
        return result
    rows = db.session.scalars(select(Credential).where(Credential.id.in_(wanted))).all()
    shared = set()
    if project_id is not None:
        shared = set(
            db.session.scalars(
                select(ProjectCredential.credential_id).where(
                    ProjectCredential.project_id == project_id,
                    ProjectCredential.credential_id.in_(wanted),
                )
            )
        )
    for missing in wanted - {c.id for c in rows}:
        result.problems[missing] = "The step's credential was deleted: choose another one."
    for credential in rows:
        if project_id is not None and credential.id not in shared:
            result.problems[credential.id] = (
                f"Credential “{credential.name}” is no longer shared into this project: "
                "ask its owner to share it again, or choose another one."
            )
            continue
        try:
            body = decrypt_json(credential.body_encrypted)
            if credential.oauth_client_id is not None:
                body = oauth.run_configuration(oauth.fresh_body(credential, body))
        except (DecryptionFailed, oauth.TokenRefreshFailed) as error:
            result.problems[credential.id] = str(error)
            continue
        result.bodies[credential.id] = body
    return result


def bodies_for_run(
    credential_ids: set[uuid.UUID], project_id: uuid.UUID | None = None
) -> dict[uuid.UUID, dict]:
    """The decrypted bodies of the credentials a run's steps use (only the executor calls
    this; the bodies go to the sandbox as `configuration` and to the scrubber). Unusable
    credentials are left out; `credentials_for_run` says why."""
    return credentials_for_run(credential_ids, project_id).bodies


def display_masker(project_id: uuid.UUID, credential_ids: Iterable[uuid.UUID] = ()) -> Scrubber:
    """The scrubber of every value of the credentials shared into the project and of
    `credential_ids` (the steps' own): what run pages mask, and what searches never match.
    One query for the bodies, however many rows are then masked."""
    ids = set(credential_ids) | set(
        db.session.scalars(
            select(ProjectCredential.credential_id).where(
                ProjectCredential.project_id == project_id
            )
        )
    )
    bodies = []
    if ids:
        for token in db.session.scalars(
            select(Credential.body_encrypted).where(Credential.id.in_(ids))
        ):
            try:
                bodies.append(decrypt_json(token))
            except DecryptionFailed:
                continue
    return Scrubber.from_configuration({"credentials": bodies})


def display_scrubber(
    project_id: uuid.UUID, credential_ids: Iterable[uuid.UUID] = ()
) -> Callable[[object], object]:
    """A function masking, in any JSON value or text, every value of the credentials shared
    into the project and of `credential_ids` (the steps' own): what run pages show."""
    return display_masker(project_id, credential_ids).scrub_json


def scrubbed_for_display(
    project_id: uuid.UUID, value: object, credential_ids: Iterable[uuid.UUID] = ()
) -> object:
    """`value` (a dataclip body, a log line, an error) with every credential value masked."""
    return display_scrubber(project_id, credential_ids)(value)
