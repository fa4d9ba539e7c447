"""Changing a project's settings: name and description, egress allowlist, the MFA
requirement (deleting a project lives in `services.deletions.projects`).

Every change is audited with the values before and after, in the same commit; none of these
settings holds a secret.
"""

from __future__ import annotations

import uuid

from app.extensions import db
from app.models import Project, User
from app.services import audit
from app.services import projects as project_service
from app.services.egress import allowlist
from app.services.errors import Invalid

ITEM = "project"
MAX_DESCRIPTION_LENGTH = 2000


def update_details(actor: User, project_id: uuid.UUID, name: str, description: str) -> Project:
    """Rename the project and change its description; audited when something changed."""
    project = project_service.get_project(project_id)
    name = " ".join((name or "").split())
    description = (description or "").strip()
    if not name:
        raise Invalid("name", "Give the project a name.")
    if len(name) > project_service.MAX_NAME_LENGTH:
        raise Invalid(
            "name", f"The name is too long: at most {project_service.MAX_NAME_LENGTH} characters."
        )
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise Invalid(
            "description",
            f"The description is too long: at most {MAX_DESCRIPTION_LENGTH:,} characters.",
        )
    for field, value in (("name", name), ("description", description)):
        if "\x00" in value:
            raise Invalid(field, f"The {field} contains a NUL character (\\u0000); remove it.")
    changes = _changes(project, name=name, description=description)
    if changes:
        audit.record(ITEM, project.id, "updated", actor.id, changes, project_id=project.id)
        db.session.commit()
    return project


def update_allowlist(actor: User | None, project_id: uuid.UUID, text: str) -> list[str]:
    """Replace the egress allowlist with the entries in `text` (one a line); returns the
    warnings about what the new list opens. Invalid names the first bad line."""
    project = project_service.get_project(project_id)
    return _save_allowlist(actor, project, allowlist.parse_text(text or ""))


def replace_allowlist(actor: User | None, project_id: uuid.UUID, lines: object) -> list[str]:
    """Replace the egress allowlist with a list of entries (the API, `ferry project-allow`);
    `actor` None is Ferry itself (the command line). Returns the warnings, as above."""
    project = project_service.get_project(project_id)
    if not isinstance(lines, list):
        raise Invalid(allowlist.FIELD, 'Send the entries as a list, e.g. ["10.0.0.5:8080"].')
    # Checked before reading any entry, so a list of a million blanks costs nothing.
    if len(lines) > allowlist.MAX_ENTRIES:
        raise Invalid(
            allowlist.FIELD,
            f"At most {allowlist.MAX_ENTRIES} entries: use CIDR ranges to group addresses.",
        )
    return _save_allowlist(actor, project, allowlist.parse_entries(lines))


def _save_allowlist(actor: User | None, project: Project, entries: list) -> list[str]:
    changes = _changes(project, egress_allowlist=[entry.text for entry in entries])
    if changes:
        actor_id = actor.id if actor is not None else None
        audit.record(ITEM, project.id, "egress_changed", actor_id, changes, project_id=project.id)
        db.session.commit()
    return allowlist.warnings(entries)


def allowlist_warnings(project: Project) -> list[str]:
    """The warnings about the saved allowlist (entries that no longer parse are skipped)."""
    entries = []
    for text in project.egress_allowlist or []:
        try:
            entries.append(allowlist.parse_entry(str(text)))
        except Invalid:
            continue
    return allowlist.warnings(entries)


def set_require_mfa(actor: User, project_id: uuid.UUID, required: bool) -> Project:
    """Require (or stop requiring) two-factor authentication of the project's members."""
    project = project_service.get_project(project_id)
    changes = _changes(project, require_mfa=bool(required))
    if changes:
        audit.record(ITEM, project.id, "mfa_changed", actor.id, changes, project_id=project.id)
        db.session.commit()
    return project


def _changes(project: Project, **values: object) -> dict[str, list]:
    """Set each attribute; the [before, after] pair of each one that changed."""
    changes = {}
    for name, value in values.items():
        before = getattr(project, name)
        if before != value:
            changes[name] = [before, value]
            setattr(project, name, value)
    return changes
