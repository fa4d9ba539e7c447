"""A member's own notification choices in a project (failure alerts, per-workflow overrides,
digest frequency and hour, workflow change notices) and the user's time zone. What a signed
"turn off these alerts" link turns off is in unsubscribe.py.

Nobody changes another member's choices: every function here acts on the caller's own
membership (or, for a signed link, on the membership the link names). Each change is audited
on the project with the values before and after.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import DigestFrequency, ProjectMember, Role, User, Workflow
from app.models.notifications import WorkflowAlertChoice
from app.services import audit
from app.services import time_zones as zone_names
from app.services.errors import Invalid, NotFound

ITEM = "project_member"
# A per-workflow choice: follow the member's project-wide setting, or override it.
AS_PROJECT, ON, OFF = "project", "on", "off"
WORKFLOW_CHOICES = (AS_PROJECT, ON, OFF)
MAX_ZONE_LENGTH = zone_names.MAX_LENGTH
TIME_FORMATS = ("24h", "12h")
NOT_A_MEMBER = (
    "You are not a member of this project, so Ferry sends you none of its alerts or digests."
)


def default_failure_alerts(role: Role) -> bool:
    """Failure alerts start on for admins and owners, who fix what breaks; off for others."""
    return role.allows(Role.ADMIN)


@dataclass(frozen=True)
class WorkflowChoice:
    """One workflow of the project with the member's choice for it."""

    id: uuid.UUID
    name: str
    choice: str  # project | on | off


@dataclass(frozen=True)
class MyChoices:
    """What the Notifications page shows a member about their own choices."""

    member: ProjectMember
    workflows: list[WorkflowChoice]


def member_for(project_id: uuid.UUID, user_id: uuid.UUID) -> ProjectMember | None:
    """The user's membership of the project (None for a superuser who is not a member)."""
    return db.session.scalar(
        select(ProjectMember).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == user_id
        )
    )


def project_workflows(project_id: uuid.UUID) -> list[Workflow]:
    """The project's live workflows, by name."""
    return list(
        db.session.scalars(
            select(Workflow)
            .where(Workflow.project_id == project_id, Workflow.deleted_at.is_(None))
            .order_by(Workflow.name)
        )
    )


def my_choices(project_id: uuid.UUID, user_id: uuid.UUID) -> MyChoices | None:
    """The user's choices in the project, or None when they are not a member."""
    member = member_for(project_id, user_id)
    if member is None:
        return None
    chosen = overrides(member.id)
    workflows = [
        WorkflowChoice(
            workflow.id,
            workflow.name,
            AS_PROJECT if workflow.id not in chosen else (ON if chosen[workflow.id] else OFF),
        )
        for workflow in project_workflows(project_id)
    ]
    return MyChoices(member, workflows)


def update_my_choices(
    user: User,
    project_id: uuid.UUID,
    *,
    failure_alerts: object,
    digest: object,
    digest_hour: object,
    change_notices: object,
    workflow_choices: dict[str, object],
) -> ProjectMember:
    """Store the user's own choices in the project; Invalid names the first bad field and
    nothing is stored then."""
    member = member_for(project_id, user.id)
    if member is None:
        raise Invalid("failure_alerts", NOT_A_MEMBER)
    frequency = parse_digest(digest)
    hour = parse_hour(digest_hour)
    workflows = {workflow.id: workflow for workflow in project_workflows(project_id)}
    wanted: dict[uuid.UUID, str] = {}
    for key, value in workflow_choices.items():
        try:
            workflow_id = uuid.UUID(str(key))
        except ValueError:
            raise Invalid(
                "workflows", "A workflow in the form is not one of this project's."
            ) from None
        if workflow_id not in workflows:
            raise Invalid("workflows", "A workflow in the form is not one of this project's.")
        if value not in WORKFLOW_CHOICES:
            raise Invalid(
                "workflows",
                f"Choose on, off or “as my project setting” for {workflows[workflow_id].name}.",
            )
        wanted[workflow_id] = value
    changes = set_values(
        member,
        failure_alerts=bool(failure_alerts),
        digest=frequency,
        digest_hour=hour,
        workflow_change_notices=bool(change_notices),
    )
    chosen = overrides(member.id)
    for workflow_id, choice in wanted.items():
        before = chosen.get(workflow_id)
        after = None if choice == AS_PROJECT else choice == ON
        if before == after:
            continue
        store_override(member.id, workflow_id, after)
        changes[f"workflow {workflows[workflow_id].name}"] = [
            choice_label(before),
            choice_label(after),
        ]
    if changes:
        audit.record(
            ITEM, member.id, "notification_choices_changed", user.id, changes, project_id=project_id
        )
    db.session.commit()
    return member


def parse_digest(raw: object) -> DigestFrequency:
    """A digest frequency from a form value."""
    try:
        return DigestFrequency(raw)
    except ValueError:
        raise Invalid("digest", "Choose never, daily, weekly or monthly for the digest.") from None


def parse_hour(raw: object) -> int:
    """An hour of the day, 0 to 23."""
    message = "Choose the digest's hour: a whole number from 0 to 23."
    if isinstance(raw, bool):
        raise Invalid("digest_hour", message)
    if isinstance(raw, str):
        text = raw.strip()
        if not (text.isascii() and text.isdigit()) or len(text) > 2:
            raise Invalid("digest_hour", message)
        raw = int(text)
    if not isinstance(raw, int) or not 0 <= raw <= 23:
        raise Invalid("digest_hour", message)
    return raw


def time_zones() -> tuple[str, ...]:
    """Every IANA time zone name this server knows, sorted."""
    return zone_names.names()


def set_time_zone(user_id: uuid.UUID, zone: object, time_format: object = None) -> User:
    """Store the user's time zone (an IANA name such as Africa/Nairobi) and, when given, how
    they want times written: "24h" (14:30) or "12h" (2:30 PM)."""
    text = zone.strip() if isinstance(zone, str) else ""
    zone_names.check(text, "time_zone")
    if time_format is not None and time_format not in TIME_FORMATS:
        raise Invalid("time_format", "Choose 24-hour or 12-hour times.")
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("user")
    changes = {}
    if user.time_zone != text:
        changes["time_zone"] = [user.time_zone, text]
        user.time_zone = text
    if time_format is not None and user.time_format != time_format:
        changes["time_format"] = [user.time_format, time_format]
        user.time_format = time_format
    if changes:
        action = "time_zone_changed" if "time_zone" in changes else "time_format_changed"
        audit.record("user", user.id, action, user.id, changes)
        db.session.commit()
    return user


def overrides(member_id: uuid.UUID) -> dict[uuid.UUID, bool]:
    """The member's per-workflow choices: workflow id -> on (True) or off (False)."""
    return dict(
        db.session.execute(
            select(WorkflowAlertChoice.workflow_id, WorkflowAlertChoice.enabled).where(
                WorkflowAlertChoice.member_id == member_id
            )
        ).all()
    )


def store_override(member_id: uuid.UUID, workflow_id: uuid.UUID, enabled: bool | None) -> None:
    """Set (True/False) or remove (None) the member's override for one workflow."""
    row = db.session.scalar(
        select(WorkflowAlertChoice).where(
            WorkflowAlertChoice.member_id == member_id,
            WorkflowAlertChoice.workflow_id == workflow_id,
        )
    )
    if enabled is None:
        if row is not None:
            db.session.delete(row)
    elif row is None:
        db.session.add(
            WorkflowAlertChoice(member_id=member_id, workflow_id=workflow_id, enabled=enabled)
        )
    else:
        row.enabled = enabled
    db.session.flush()


def choice_label(value: bool | None) -> str:
    """A per-workflow choice in words, for the audit log."""
    return "as the project setting" if value is None else ("on" if value else "off")


def set_values(member: ProjectMember, **values: object) -> dict[str, list]:
    """Set each attribute; the [before, after] pair of each one that changed."""
    changes: dict[str, list] = {}
    for name, value in values.items():
        before = getattr(member, name)
        if before != value:
            changes[name] = [_plain(before), _plain(value)]
            setattr(member, name, value)
    return changes


def _plain(value: object) -> object:
    return value.value if isinstance(value, DigestFrequency) else value
