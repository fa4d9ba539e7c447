"""A member's own notification choices in a project (failure alerts, per-workflow overrides,
digest frequency and hour, workflow change notices), the user's time zone, and what a signed
"turn off these alerts" link turns off.

Nobody changes another member's choices: every function here acts on the caller's own
membership (or, for a signed link, on the membership the link names). Each change is audited
on the project with the values before and after.
"""

from __future__ import annotations

import uuid
import zoneinfo
from dataclasses import dataclass
from functools import cache

from sqlalchemy import select

from app.extensions import db
from app.models import DigestFrequency, Project, ProjectMember, Role, User, Workflow
from app.models.notifications import WorkflowAlertChoice
from app.services import audit
from app.services.errors import Invalid, NotFound
from app.services.notifications import links

ITEM = "project_member"
# A per-workflow choice: follow the member's project-wide setting, or override it.
AS_PROJECT, ON, OFF = "project", "on", "off"
WORKFLOW_CHOICES = (AS_PROJECT, ON, OFF)
MAX_ZONE_LENGTH = 64
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
    overrides = _overrides(member.id)
    workflows = [
        WorkflowChoice(
            workflow.id,
            workflow.name,
            AS_PROJECT if workflow.id not in overrides else (ON if overrides[workflow.id] else OFF),
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
    changes = _set(
        member,
        failure_alerts=bool(failure_alerts),
        digest=frequency,
        digest_hour=hour,
        workflow_change_notices=bool(change_notices),
    )
    overrides = _overrides(member.id)
    for workflow_id, choice in wanted.items():
        before = overrides.get(workflow_id)
        after = None if choice == AS_PROJECT else choice == ON
        if before == after:
            continue
        _store_override(member.id, workflow_id, after)
        changes[f"workflow {workflows[workflow_id].name}"] = [
            _label(before),
            _label(after),
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


@cache
def time_zones() -> tuple[str, ...]:
    """Every IANA time zone name this server knows, sorted."""
    return tuple(sorted(zoneinfo.available_timezones()))


def set_time_zone(user_id: uuid.UUID, zone: object) -> User:
    """Store the user's time zone (an IANA name such as Africa/Nairobi)."""
    text = zone.strip() if isinstance(zone, str) else ""
    if not text:
        raise Invalid("time_zone", "Choose a time zone from the list, for example Africa/Nairobi.")
    if len(text) > MAX_ZONE_LENGTH or text not in time_zones():
        raise Invalid(
            "time_zone",
            "That is not a time zone Ferry knows. Choose one from the list, "
            "for example Africa/Nairobi or UTC.",
        )
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("user")
    if user.time_zone != text:
        changes = {"time_zone": [user.time_zone, text]}
        audit.record("user", user.id, "time_zone_changed", user.id, changes)
        user.time_zone = text
        db.session.commit()
    return user


@dataclass(frozen=True)
class UnsubscribeTarget:
    """What a signed link would turn off, in words, and for whom."""

    request: links.Unsubscribe
    email: str
    project: str
    workflow: str | None
    what: str
    already_off: bool


def describe_unsubscribe(token: object) -> UnsubscribeTarget:
    """What the link's token turns off; Invalid for a changed or unknown token, or one whose
    member, project or workflow is gone."""
    request = links.read_unsubscribe_token(token)  # type: ignore[arg-type]
    member, user, project, workflow = _link_rows(request)
    if request.kind == links.FAILURE_ALERTS and workflow is not None:
        what = f"failure alerts for the workflow “{workflow.name}”"
        override = _overrides(member.id).get(workflow.id)
        already_off = override is False or (override is None and not member.failure_alerts)
    elif request.kind == links.FAILURE_ALERTS:
        what = "failure alerts for every workflow of the project"
        already_off = not member.failure_alerts and not any(_overrides(member.id).values())
    elif request.kind == links.DIGEST:
        what = f"the {member.digest.value} digest"
        already_off = member.digest is DigestFrequency.NEVER
        if already_off:
            what = "the digest"
    else:
        what = "workflow change notices"
        already_off = not member.workflow_change_notices
    return UnsubscribeTarget(
        request, user.email, project.name, workflow.name if workflow else None, what, already_off
    )


def unsubscribe(token: object) -> UnsubscribeTarget:
    """Turn off what the link names (only ever off); audited as done by the link's user."""
    target = describe_unsubscribe(token)
    request = target.request
    member, _user, _project, workflow = _link_rows(request)
    if request.kind == links.FAILURE_ALERTS and workflow is not None:
        before = _overrides(member.id).get(workflow.id)
        _store_override(member.id, workflow.id, False)
        changes = {f"workflow {workflow.name}": [_label(before), _label(False)]}
    elif request.kind == links.FAILURE_ALERTS:
        # "Every workflow": the per-workflow overrides that turned some back on go too.
        changes = _set(member, failure_alerts=False)
        for workflow_id, enabled in _overrides(member.id).items():
            if enabled:
                _store_override(member.id, workflow_id, None)
                changes.setdefault("workflow overrides", ["on for some", "removed"])
    elif request.kind == links.DIGEST:
        changes = _set(member, digest=DigestFrequency.NEVER)
    else:
        changes = _set(member, workflow_change_notices=False)
    if changes:
        changes["via"] = "link in a mail"
        audit.record(
            ITEM,
            member.id,
            "notification_choices_changed",
            request.user_id,
            changes,
            project_id=request.project_id,
        )
    db.session.commit()
    return target


def _link_rows(request: links.Unsubscribe):
    gone = Invalid(
        "token",
        "This link no longer applies: the project, the workflow or your membership is gone.",
    )
    member = member_for(request.project_id, request.user_id)
    project = db.session.get(Project, request.project_id)
    user = db.session.get(User, request.user_id)
    if member is None or project is None or user is None or project.deletion_requested_at:
        raise gone
    workflow = None
    if request.workflow_id is not None:
        workflow = db.session.get(Workflow, request.workflow_id)
        if workflow is None or workflow.project_id != project.id or workflow.deleted_at:
            raise gone
    return member, user, project, workflow


def _overrides(member_id: uuid.UUID) -> dict[uuid.UUID, bool]:
    return dict(
        db.session.execute(
            select(WorkflowAlertChoice.workflow_id, WorkflowAlertChoice.enabled).where(
                WorkflowAlertChoice.member_id == member_id
            )
        ).all()
    )


def _store_override(member_id: uuid.UUID, workflow_id: uuid.UUID, enabled: bool | None) -> None:
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


def _label(value: bool | None) -> str:
    return "as the project setting" if value is None else ("on" if value else "off")


def _set(member: ProjectMember, **values: object) -> dict[str, list]:
    changes: dict[str, list] = {}
    for name, value in values.items():
        before = getattr(member, name)
        if before != value:
            changes[name] = [_plain(before), _plain(value)]
            setattr(member, name, value)
    return changes


def _plain(value: object) -> object:
    return value.value if isinstance(value, DigestFrequency) else value
