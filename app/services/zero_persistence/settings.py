"""Turning a project's zero persistence on (only once its consequences are acknowledged) and
off; both are audited. Who may do it (admins and owners) is checked by the caller's access
check, as for every project setting."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from app.extensions import db
from app.models import Project, User
from app.services import audit
from app.services import projects as project_service
from app.services.errors import Invalid

ITEM = "project"
EVENT = "zero_persistence_changed"
CONFIRM = (
    "Tick “I understand” to confirm that you read what zero persistence turns off; "
    "nothing was changed."
)
# What the Data protection tab lists before it can be turned on (and the API documents).
CONSEQUENCES = (
    "Inputs, step outputs and final states are never written to the database: run pages say "
    "“Not stored” where the data would be, and nothing can be downloaded.",
    "Print and log output of steps is dropped, as with “Do not keep print/log output”; "
    "errors (their type and message) are still kept, so job code should not put personal "
    "data in the errors it raises.",
    "No retry or rerun from a step, and no retry of a run whose input was not stored: start "
    "the workflow again with a new input instead.",
    "No saved inputs in the builder, and no runs with a saved or an earlier input.",
    "No search in inputs on the History page.",
    "A webhook's body waits in Ferry's Redis for at most 24 hours, until its run starts; if "
    "Redis restarts meanwhile the run fails saying its input was lost. While Redis is down, "
    "webhooks are answered 503 (send again) instead of being saved.",
    "A cron trigger set to start from the last successful run's output starts from {} "
    "(an empty state).",
    "Synchronous webhook replies still carry the result, held in Redis for ten minutes at "
    "most; a step waiting for an automatic retry keeps its input there for 24 hours.",
    "It applies to runs that start after it is turned on. Inputs and outputs stored before "
    "stay until the retention policy wipes them.",
)


def is_on(project_id: uuid.UUID) -> bool:
    """Whether the project keeps no inputs or outputs."""
    return bool(db.session.scalar(select(Project.zero_persistence).where(Project.id == project_id)))


def update(actor: User, project_id: uuid.UUID, enabled: object, understood: object) -> Project:
    """Turn zero persistence on (`understood` must be true) or off; audited with the value
    before and after. Invalid names the field (`zero_persistence`, `understood`)."""
    if not isinstance(enabled, bool):
        raise Invalid("zero_persistence", "zero_persistence must be true or false.")
    if understood is not None and not isinstance(understood, bool):
        raise Invalid("understood", "understood must be true or false.")
    project = project_service.get_project(project_id)
    if enabled and not project.zero_persistence and understood is not True:
        raise Invalid("understood", CONFIRM)
    if project.zero_persistence != enabled:
        audit.record(
            ITEM,
            project.id,
            EVENT,
            actor.id,
            {"zero_persistence": [project.zero_persistence, enabled]},
            project_id=project.id,
        )
        project.zero_persistence = enabled
        db.session.commit()
    return project
