"""Workflow change notices: a mail to the members who asked for them when someone creates,
changes or deletes a workflow, saying who, when (in the reader's time zone) and what
changed — step, trigger and path names, never the code.

The save only queues a job with the workflow id and the two versions (`notify`, after its
commit, no query); the job compares the two snapshots and mails (`send`). A save that
changed nothing a reader would see (same steps, triggers and paths) mails no one.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from redis.exceptions import RedisError

from app.extensions import MAIL_QUEUE, db, queue
from app.models import AlertLogEntry, Project, ProjectMember, User, Workflow, WorkflowSnapshot
from app.models.base import utcnow
from app.services import mail
from app.services.notifications import links
from app.services.notifications.digests import zone_of

log = logging.getLogger("ferry.change_notices")

JOB = "workers.notice_jobs.change_notice"
EVENTS = ("created", "changed", "deleted")
# Enough to tell what happened; a save that touched more is summed up.
MAX_LINES = 40


def notify(
    workflow_id: uuid.UUID,
    project_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    event: str,
    old_version: int | None,
    new_version: int,
) -> None:
    """Queue the change notice of a committed save when someone else in the project asked
    for them (one indexed EXISTS query). Never fails the save: without Redis the notice is
    skipped and logged."""
    conditions = [
        ProjectMember.project_id == project_id,
        ProjectMember.workflow_change_notices.is_(True),
    ]
    if actor_id is not None:
        conditions.append(ProjectMember.user_id != actor_id)
    if not db.session.scalar(sa.select(sa.exists().where(*conditions))):
        return
    try:
        queue(MAIL_QUEUE).enqueue(
            JOB,
            str(workflow_id),
            str(actor_id) if actor_id else None,
            event,
            old_version,
            new_version,
            utcnow().isoformat(),
            description=f"change notice for workflow {workflow_id}",
        )
    except (RedisError, OSError) as error:
        log.warning("change notice for workflow %s not queued (%s)", workflow_id, error)


def send(
    workflow_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    event: str,
    old_version: int | None,
    new_version: int,
    at: datetime,
) -> int:
    """Mail the opted-in members (not the author) about one change; returns how many."""
    workflow = db.session.get(Workflow, workflow_id)
    if workflow is None or event not in EVENTS:
        return 0
    project = db.session.get(Project, workflow.project_id)
    if project is None or project.deletion_requested_at is not None:
        return 0
    recipients = db.session.execute(
        sa.select(User.id, User.email, User.time_zone)
        .join(ProjectMember, ProjectMember.user_id == User.id)
        .where(
            ProjectMember.project_id == project.id,
            ProjectMember.workflow_change_notices.is_(True),
            User.disabled.is_(False),
            User.id != actor_id if actor_id else sa.true(),
        )
        .order_by(User.email)
    ).all()
    if not recipients:
        return 0
    versions = {v for v in (old_version, new_version) if v is not None}
    definitions = dict(
        db.session.execute(
            sa.select(WorkflowSnapshot.lock_version, WorkflowSnapshot.definition).where(
                WorkflowSnapshot.workflow_id == workflow_id,
                WorkflowSnapshot.lock_version.in_(versions),
            )
        ).all()
    )
    new = definitions.get(new_version) or {}
    old = definitions.get(old_version) if old_version is not None else None
    name = new.get("name") or workflow.name
    if event == "created":
        lines = describe_changes({}, new)
    elif event == "deleted":
        lines = ["The workflow was deleted; its triggers are off and its history is kept."]
    else:
        if old is None:
            return 0  # the earlier version is gone: nothing to compare
        lines = describe_changes(old, new)
        if not lines:
            return 0
    author = db.session.get(User, actor_id) if actor_id else None
    who = f"{author.name} ({author.email})" if author and author.name else None
    who = who or (author.email if author else "Someone")
    short = (author.name or author.email) if author else "someone"
    # Plain values: each send_mail commits, which would expire the rows.
    project_id, project_name = project.id, project.name
    workflow_url = None
    if event != "deleted":
        workflow_url = f"{_base_url()}/projects/{project_id}/workflows/{workflow_id}"
    sent = []
    for user_id, email, time_zone in recipients:
        rendered = mail.render_mail(
            "change_notice",
            author=who,
            short_author=short,
            event=event,
            workflow_name=name,
            project_name=project_name,
            when=_local(at, time_zone),
            lines=lines,
            workflow_url=workflow_url,
            unsubscribe_url=links.unsubscribe_url(
                links.Unsubscribe(user_id, project_id, links.CHANGE_NOTICES)
            ),
        )
        message_id = mail.send_mail(
            email,
            rendered.subject,
            rendered.text,
            html=rendered.html,
            unsubscribe_url=rendered.unsubscribe_url,
        )
        sent.append((email, message_id))
    for email, message_id in sent:
        db.session.add(
            AlertLogEntry(
                project_id=project_id,
                workflow_id=workflow_id,
                mail_message_id=message_id,
                channel="email",
                kind="change",
                recipient=email,
                status="queued",
                detail=f"{event} {name}"[:400],
            )
        )
    db.session.commit()
    return len(sent)


def describe_changes(old: dict, new: dict) -> list[str]:
    """What differs between two snapshot definitions, by name; code is only ever said to
    have changed, never shown."""
    lines: list[str] = []
    if old and old.get("name") != new.get("name"):
        lines.append(f"Renamed from {old.get('name')} to {new.get('name')}")
    if old and old.get("concurrency") != new.get("concurrency"):
        lines.append(f"Runs at once: {old.get('concurrency')} -> {new.get('concurrency')}")
    if old and old.get("retry_policy") != new.get("retry_policy"):
        lines.append("The default retries for steps changed")
    lines += _steps(_by_key(old, "steps"), _by_key(new, "steps"))
    lines += _triggers(_by_key(old, "triggers"), _by_key(new, "triggers"))
    lines += _edges(old, new)
    if len(lines) > MAX_LINES:
        lines = [*lines[: MAX_LINES - 1], f"... and {len(lines) - MAX_LINES + 1} more changes"]
    return lines


def _steps(old: dict[str, dict], new: dict[str, dict]) -> list[str]:
    lines = []
    for key, step in new.items():
        before = old.get(key)
        if before is None:
            lines.append(f"Step added: {step.get('name') or key}")
            continue
        what = []
        if before.get("name") != step.get("name"):
            what.append(f"renamed from {before.get('name')}")
        if before.get("body") != step.get("body"):
            what.append("its code changed")
        if before.get("adaptor") != step.get("adaptor"):
            what.append(f"adaptor {before.get('adaptor')} -> {step.get('adaptor')}")
        if before.get("credential_id") != step.get("credential_id"):
            what.append("its credential changed")
        if before.get("retry_policy") != step.get("retry_policy"):
            what.append("its retries changed")
        if what:
            lines.append(f"Step changed: {step.get('name') or key} ({', '.join(what)})")
    lines += [f"Step removed: {s.get('name') or k}" for k, s in old.items() if k not in new]
    return lines


def _triggers(old: dict[str, dict], new: dict[str, dict]) -> list[str]:
    lines = []
    for key, trigger in new.items():
        label = f"{trigger.get('type')} trigger {key}"
        before = old.get(key)
        if before is None:
            state = "on" if trigger.get("enabled") else "off"
            schedule = f", {trigger['cron_expression']}" if trigger.get("cron_expression") else ""
            lines.append(f"Trigger added: {label} ({state}{schedule})")
            continue
        if before.get("enabled") != trigger.get("enabled"):
            lines.append(f"Trigger switched {'on' if trigger.get('enabled') else 'off'}: {label}")
        if before.get("cron_expression") != trigger.get("cron_expression"):
            lines.append(
                f"Trigger schedule changed: {label} "
                f"({before.get('cron_expression')} -> {trigger.get('cron_expression')})"
            )
        others = ("webhook_reply", "cron_input", "cron_input_step_id")
        if any(before.get(name) != trigger.get(name) for name in others):
            lines.append(f"Trigger settings changed: {label}")
    lines += [
        f"Trigger removed: {t.get('type')} trigger {k}" for k, t in old.items() if k not in new
    ]
    return lines


def _edges(old: dict, new: dict) -> list[str]:
    before, after = _paths(old), _paths(new)
    lines = [f"Path added: {path}" for path in after if path not in before]
    for path, edge in after.items():
        if path in before:
            was = before[path]
            if (was.get("condition_type"), was.get("condition_expression")) != (
                edge.get("condition_type"),
                edge.get("condition_expression"),
            ):
                lines.append(f"Path condition changed: {path} (now {edge.get('condition_type')})")
            if was.get("enabled") != edge.get("enabled"):
                lines.append(f"Path switched {'on' if edge.get('enabled') else 'off'}: {path}")
    lines += [f"Path removed: {path}" for path in before if path not in after]
    return lines


def _paths(definition: dict) -> dict[str, dict]:
    """Edges by "source -> target" names (ids differ between versions, names do not)."""
    names = {s.get("id"): s.get("name") or s.get("key") for s in definition.get("steps", [])}
    names |= {t.get("id"): t.get("key") for t in definition.get("triggers", [])}
    paths = {}
    for edge in definition.get("edges", []):
        source = names.get(edge.get("source_step_id") or edge.get("source_trigger_id"), "?")
        paths[f"{source} -> {names.get(edge.get('target_step_id'), '?')}"] = edge
    return paths


def _by_key(definition: dict, part: str) -> dict[str, dict]:
    return {item.get("key"): item for item in (definition or {}).get(part, [])}


def _local(moment: datetime, time_zone: str) -> str:
    zone = zone_of(time_zone)
    local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(zone)
    return f"{local.day} {local.strftime('%b %Y, %H:%M')} ({zone.key})"


def _base_url() -> str:
    from flask import current_app

    return current_app.config["FERRY_SETTINGS"].base_url
