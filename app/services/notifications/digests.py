"""Digests: the scheduler's periodic task that mails each member, at their hour in their
time zone, the daily / weekly / monthly summary of their project's work orders.

A digest is due on its send day (every day; Mondays; the 1st) once the member's hour has
passed there, and covers the previous full day / week / month in their time zone. It is
claimed by inserting a DigestSend (unique per member and period) in the same transaction as
the stored message: a second scheduler's insert waits for that commit and then does
nothing, so each period is mailed exactly once; a failure before the commit leaves the
period unclaimed for the next tick.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from app.extensions import db
from app.models import (
    AlertLogEntry,
    DigestFrequency,
    DigestSend,
    Project,
    ProjectMember,
    User,
    Workflow,
)
from app.models.base import utcnow
from app.services import mail
from app.services.notifications import digest_content, links

log = logging.getLogger("ferry.digests")

EVERY_S = 300.0
FREQUENCY_WORDS = {"daily": "daily", "weekly": "weekly", "monthly": "monthly"}


@dataclass(frozen=True)
class Period:
    """The span a digest covers, in UTC, with its key and how it reads."""

    key: str
    start: datetime
    end: datetime
    label: str


def due_period(
    frequency: DigestFrequency, hour: int, time_zone: str, now: datetime
) -> Period | None:
    """The period whose digest is due at `now` for a member, or None (not a send day, or
    the hour has not come yet there)."""
    zone = zone_of(time_zone)
    local = now.astimezone(zone)
    today = local.date()
    if local.hour < hour:
        return None
    if frequency is DigestFrequency.DAILY:
        first = today - timedelta(days=1)
        key, label = f"daily:{first.isoformat()}", f"{_day(first)}"
        return _period(key, first, today, zone, label)
    if frequency is DigestFrequency.WEEKLY:
        if today.weekday() != 0:
            return None
        first = today - timedelta(days=7)
        year, week, _ = first.isocalendar()
        label = f"week of {_day(first)} to {_day(today - timedelta(days=1))}"
        return _period(f"weekly:{year}-W{week:02d}", first, today, zone, label)
    if frequency is DigestFrequency.MONTHLY:
        if today.day != 1:
            return None
        first = (today - timedelta(days=1)).replace(day=1)
        label = first.strftime("%B %Y")
        return _period(f"monthly:{first.strftime('%Y-%m')}", first, today, zone, label)
    return None


def send_due(now: datetime | None = None) -> int:
    """Send every digest due at `now`; returns how many were sent (the periodic task)."""
    now = now or utcnow()
    # Plain values, not rows: the commit after each mail would expire rows.
    members = db.session.execute(
        sa.select(
            ProjectMember.id.label("member_id"),
            ProjectMember.project_id,
            ProjectMember.digest,
            ProjectMember.digest_hour,
            User.id.label("user_id"),
            User.email,
            User.time_zone,
            Project.name.label("project_name"),
        )
        .join(User, User.id == ProjectMember.user_id)
        .join(Project, Project.id == ProjectMember.project_id)
        .where(
            ProjectMember.digest != DigestFrequency.NEVER,
            User.disabled.is_(False),
            Project.deletion_requested_at.is_(None),
        )
    ).all()
    due = []
    for member in members:
        period = due_period(member.digest, member.digest_hour, member.time_zone, now)
        if period is not None:
            due.append((member, period))
    if not due:
        return 0
    workflows = _workflows({member.project_id for member, _ in due})
    # Members sharing a project and period (same time zone) share one aggregate query.
    contents: dict[tuple[uuid.UUID, datetime, datetime], list] = {}
    sent = 0
    for member, period in due:
        if not workflows.get(member.project_id) or not _claim(member.member_id, period.key):
            continue
        group = (member.project_id, period.start, period.end)
        try:
            if group not in contents:
                contents[group] = digest_content.project_digest(
                    member.project_id, workflows[member.project_id], period.start, period.end
                )
            _send(member, period, contents[group])
        except Exception:
            # The claim goes with the message: the next tick tries again.
            db.session.rollback()
            log.exception("digest for member %s (%s) not sent", member.member_id, period.key)
            continue
        sent += 1
    return sent


def zone_of(time_zone: str) -> ZoneInfo:
    """The member's zone, or UTC when the stored name is unknown."""
    try:
        return ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def claim_statement(member_id: uuid.UUID, period_key: str) -> sa.Insert:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: an id when this caller claimed the
    period, nothing when someone else had (a concurrent insert waits for the other's commit)."""
    return (
        insert(DigestSend)
        .values(id=uuid.uuid4(), member_id=member_id, period_key=period_key)
        .on_conflict_do_nothing(index_elements=["member_id", "period_key"])
        .returning(DigestSend.id)
    )


def _claim(member_id: uuid.UUID, period_key: str) -> bool:
    """Insert the DigestSend (not yet committed); False when another scheduler has it."""
    claimed = db.session.execute(claim_statement(member_id, period_key)).scalar()
    if claimed is None:
        db.session.rollback()
        return False
    return True


def _send(member: sa.Row, period: Period, digests: list[digest_content.WorkflowDigest]) -> None:
    frequency = FREQUENCY_WORDS[period.key.split(":")[0]]
    rendered = mail.render_mail(
        "digest",
        project_name=member.project_name,
        period_label=period.label,
        frequency=frequency,
        digests=digests,
        hour_label=f"{member.digest_hour:02d}:00",
        time_zone=zone_of(member.time_zone).key,
        unsubscribe_url=links.unsubscribe_url(
            links.Unsubscribe(member.user_id, member.project_id, links.DIGEST)
        ),
    )
    # send_mail commits the claim together with the message.
    message_id = mail.send_mail(
        member.email,
        rendered.subject,
        rendered.text,
        html=rendered.html,
        unsubscribe_url=rendered.unsubscribe_url,
    )
    db.session.add(
        AlertLogEntry(
            project_id=member.project_id,
            mail_message_id=message_id,
            channel="email",
            kind="digest",
            recipient=member.email,
            status="queued",
            detail=f"{frequency} digest, {period.label}",
        )
    )
    db.session.commit()


def _workflows(project_ids: set[uuid.UUID]) -> dict[uuid.UUID, dict[uuid.UUID, str]]:
    found: dict[uuid.UUID, dict[uuid.UUID, str]] = defaultdict(dict)
    for workflow_id, project_id, name in db.session.execute(
        sa.select(Workflow.id, Workflow.project_id, Workflow.name).where(
            Workflow.project_id.in_(project_ids), Workflow.deleted_at.is_(None)
        )
    ):
        found[project_id][workflow_id] = name
    return found


def _period(key: str, first: date, after: date, zone: ZoneInfo, label: str) -> Period:
    start = datetime.combine(first, time.min, tzinfo=zone).astimezone(UTC)
    end = datetime.combine(after, time.min, tzinfo=zone).astimezone(UTC)
    return Period(key, start, end, label)


def _day(day: date) -> str:
    return f"{day.strftime('%a')} {day.day} {day.strftime('%b %Y')}"
