"""What a signed "turn off these alerts" link in a mail turns off, and turning it off.

A link only ever turns something off, for the member it names: a forwarded mail can at worst
silence its own recipient. The change is audited as made by that member, "via" the link.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.extensions import db
from app.models import DigestFrequency, Project, User, Workflow
from app.services import audit
from app.services.errors import Invalid
from app.services.notifications import links
from app.services.notifications.preferences import (
    ITEM,
    choice_label,
    member_for,
    overrides,
    set_values,
    store_override,
)


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
        override = overrides(member.id).get(workflow.id)
        already_off = override is False or (override is None and not member.failure_alerts)
    elif request.kind == links.FAILURE_ALERTS:
        what = "failure alerts for every workflow of the project"
        already_off = not member.failure_alerts and not any(overrides(member.id).values())
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
        before = overrides(member.id).get(workflow.id)
        store_override(member.id, workflow.id, False)
        changes = {f"workflow {workflow.name}": [choice_label(before), choice_label(False)]}
    elif request.kind == links.FAILURE_ALERTS:
        # "Every workflow": the per-workflow overrides that turned some back on go too.
        changes = set_values(member, failure_alerts=False)
        for workflow_id, enabled in overrides(member.id).items():
            if enabled:
                store_override(member.id, workflow_id, None)
                changes.setdefault("workflow overrides", ["on for some", "removed"])
    elif request.kind == links.DIGEST:
        changes = set_values(member, digest=DigestFrequency.NEVER)
    else:
        changes = set_values(member, workflow_change_notices=False)
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
