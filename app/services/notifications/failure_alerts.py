"""Failure alerts: who hears of a failed run, within the rate limit, and the summaries of
what the limit held back; also the test alert admins send themselves.

Runs here only in jobs (workers.notification_jobs) and the scheduler, never in a web
request or a run's worker loop. Every alert, suppression and failure is written to the
alert log. A job run twice for the same run (the sweeper queued it again) sends nothing
twice: a recipient already in the log for that run is skipped.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from rq import Retry
from sqlalchemy import select

from app.extensions import MAIL_QUEUE, db, queue
from app.models import MailMessage, MailStatus, Project, ProjectMember, Run, User, Workflow
from app.models.base import utcnow
from app.models.notifications import AlertLogEntry, WorkflowAlertChoice
from app.services.mail import alert_log_status, render_mail, send_mail
from app.services.notifications import alert_content, rate_limit
from app.services.notifications.alert_queue import ALERT_STATES
from app.services.notifications.links import FAILURE_ALERTS, Unsubscribe, unsubscribe_url

HTTP_JOB = "workers.notification_jobs.http_alert"


@dataclass(frozen=True)
class Recipient:
    """A member who gets a workflow's failure alerts."""

    user_id: uuid.UUID
    email: str
    time_zone: str


def recipients(project: Project, workflow_id: uuid.UUID) -> list[Recipient]:
    """Members with failure alerts on for the workflow (their per-workflow choice wins over
    their project-wide one), not disabled; nobody while the project is being deleted."""
    if project.deletion_requested_at is not None:
        return []
    rows = db.session.execute(
        select(ProjectMember.failure_alerts, WorkflowAlertChoice.enabled, User)
        .join(User, User.id == ProjectMember.user_id)
        .outerjoin(
            WorkflowAlertChoice,
            (WorkflowAlertChoice.member_id == ProjectMember.id)
            & (WorkflowAlertChoice.workflow_id == workflow_id),
        )
        .where(ProjectMember.project_id == project.id, User.disabled.is_(False))
        .order_by(User.email)
    ).all()
    return [
        Recipient(user.id, user.email, user.time_zone)
        for project_wide, choice, user in rows
        if (choice if choice is not None else project_wide)
    ]


def alert_for_run(run_id: uuid.UUID) -> int:
    """Send (or count as suppressed) the failure alerts of one run; returns the mails sent.

    The rate limit decides first: in a flood most alerts are only counted, and those need
    none of the reading (steps, credentials, input) that composing an alert does."""
    run = db.session.get(Run, run_id)
    if run is None or run.state not in ALERT_STATES:
        return 0
    project = db.session.get(Project, run.project_id)
    if project is None or project.deletion_requested_at is not None:
        return 0
    already = set(
        db.session.execute(
            select(AlertLogEntry.channel, AlertLogEntry.recipient).where(
                AlertLogEntry.run_id == run.id, AlertLogEntry.kind == "failure"
            )
        ).all()
    )
    facts: alert_content.AlertFacts | None = None
    sent = 0
    for person in recipients(project, run.workflow_id):
        if ("email", person.email) in already:
            continue
        decision = rate_limit.decide(
            run.workflow_id,
            rate_limit.user_recipient(person.user_id),
            project.alert_limit_count,
            project.alert_limit_minutes,
            utcnow(),
        )
        entry = _log(run, "email", "failure", person.email, "suppressed")
        if decision.send:
            entry.status = "queued"
        else:
            entry.detail = "Over the rate limit: counted for the summary."
        db.session.commit()  # the count and the log entry, then the lock is released
        if decision.summary is not None:
            send_summary(decision.summary)
        if decision.send:
            facts = facts or alert_content.facts_for_run(run.id)
            if facts is None:
                entry.status, entry.detail = "failed", "The run or its workflow was deleted."
                db.session.commit()
                continue
            entry.mail_message_id = _mail_alert(project, facts, person, decision)
            follow_mail(entry)
            sent += 1
    if project.alert_webhook_url and ("http", _http_host(project)) not in already:
        _queue_http(project, run)
    return sent


def _mail_alert(
    project: Project, facts: alert_content.AlertFacts, person: Recipient, decision
) -> uuid.UUID:
    note = None
    if decision.last:
        until = alert_content.local_time(decision.until, person.time_zone, with_date=False)
        note = (
            f"You will get no more alerts for {facts.workflow_name} until {until}; "
            "a summary follows."
        )
    rendered = render_mail(
        "failure_alert",
        facts=facts,
        headline=alert_content.headline(facts),
        when=alert_content.local_time(facts.finished_at, person.time_zone),
        limit_note=note,
        unsubscribe_url=unsubscribe_url(
            Unsubscribe(person.user_id, project.id, FAILURE_ALERTS, facts.workflow_id)
        ),
        project_unsubscribe_url=unsubscribe_url(
            Unsubscribe(person.user_id, project.id, FAILURE_ALERTS)
        ),
    )
    return send_mail(
        person.email,
        rendered.subject or facts.subject,
        rendered.text,
        html=rendered.html,
        unsubscribe_url=rendered.unsubscribe_url,
    )


def _queue_http(project: Project, run: Run) -> None:
    decision = rate_limit.decide(
        run.workflow_id,
        rate_limit.HTTP_RECIPIENT,
        project.alert_limit_count,
        project.alert_limit_minutes,
        utcnow(),
    )
    entry = _log(run, "http", "failure", _http_host(project), "queued")
    if not decision.send:
        entry.status, entry.detail = "suppressed", "Over the rate limit: counted for the summary."
    db.session.commit()
    if decision.summary is not None:
        send_summary(decision.summary)
    if decision.send:
        queue(MAIL_QUEUE).enqueue(
            HTTP_JOB, str(entry.id), decision.last, retry=Retry(max=2, interval=[5, 30])
        )


def send_due_summaries() -> int:
    """The scheduler's task: one summary per ended window that held alerts back."""
    summaries = rate_limit.claim_due_summaries(utcnow())
    for summary in summaries:
        send_summary(summary)
    return len(summaries)


def send_summary(summary: rate_limit.WindowSummary) -> None:
    """Send one claimed summary ("7 more runs of X failed between 02:00 and 02:05")."""
    workflow = db.session.get(Workflow, summary.workflow_id)
    project = db.session.get(Project, workflow.project_id) if workflow else None
    if workflow is None or project is None or project.deletion_requested_at is not None:
        return
    link = alert_content.history_url(project.id, workflow.id, summary.started_at, summary.ends_at)
    if summary.recipient == rate_limit.HTTP_RECIPIENT:
        if not project.alert_webhook_url:
            return
        entry = AlertLogEntry(
            project_id=project.id,
            workflow_id=workflow.id,
            channel="http",
            kind="summary",
            recipient=_http_host(project),
            status="queued",
            detail=f"{summary.count} more runs of {workflow.name} failed.",
        )
        db.session.add(entry)
        db.session.commit()
        extra = {
            "count": summary.count,
            "from": summary.started_at.isoformat(),
            "to": summary.ends_at.isoformat(),
        }
        queue(MAIL_QUEUE).enqueue(
            HTTP_JOB, str(entry.id), False, extra, retry=Retry(max=2, interval=[5, 30])
        )
        return
    user_id = uuid.UUID(summary.recipient.removeprefix("user:"))
    person = next((p for p in recipients(project, workflow.id) if p.user_id == user_id), None)
    if person is None:
        return  # they turned the alerts off, left the project or were disabled meanwhile
    start = alert_content.local_time(summary.started_at, person.time_zone, with_date=False)
    end = alert_content.local_time(summary.ends_at, person.time_zone, with_date=False)
    zone = alert_content.zone_of(person.time_zone).key
    runs = "run" if summary.count == 1 else "runs"
    line = (
        f"{summary.count} more {runs} of {workflow.name} failed between {start} and {end} ({zone})."
    )
    rendered = render_mail(
        "alert_summary",
        count=summary.count,
        runs=runs,
        workflow_name=workflow.name,
        project_name=project.name,
        line=line,
        history_url=link,
        unsubscribe_url=unsubscribe_url(
            Unsubscribe(user_id, project.id, FAILURE_ALERTS, workflow.id)
        ),
        project_unsubscribe_url=unsubscribe_url(Unsubscribe(user_id, project.id, FAILURE_ALERTS)),
    )
    message_id = send_mail(
        person.email,
        rendered.subject,
        rendered.text,
        html=rendered.html,
        unsubscribe_url=rendered.unsubscribe_url,
    )
    follow_mail(
        AlertLogEntry(
            project_id=project.id,
            workflow_id=workflow.id,
            mail_message_id=message_id,
            channel="email",
            kind="summary",
            recipient=person.email,
            status="queued",
            detail=line,
        )
    )


def send_test_alert(project: Project, user: User) -> uuid.UUID:
    """Send `user` a test alert of `project` (they asked for it on the settings page), past
    the rate limit and their own choices, and the same test to the project's HTTP endpoint
    when it has one; returns the mail message id. Only stores and queues: the jobs send."""
    rendered = render_mail(
        "test_alert",
        project_name=project.name,
        when=alert_content.local_time(utcnow(), user.time_zone),
        unsubscribe_url=unsubscribe_url(Unsubscribe(user.id, project.id, FAILURE_ALERTS)),
    )
    message_id = send_mail(
        user.email,
        rendered.subject,
        rendered.text,
        html=rendered.html,
        unsubscribe_url=rendered.unsubscribe_url,
    )
    follow_mail(
        AlertLogEntry(
            project_id=project.id,
            mail_message_id=message_id,
            channel="email",
            kind="test",
            recipient=user.email,
            status="queued",
            detail="A test alert an admin sent to themselves.",
        )
    )
    if project.alert_webhook_url:
        entry = AlertLogEntry(
            project_id=project.id,
            channel="http",
            kind="test",
            recipient=_http_host(project),
            status="queued",
            detail=f"A test alert {user.email} sent.",
        )
        db.session.add(entry)
        db.session.commit()
        queue(MAIL_QUEUE).enqueue(HTTP_JOB, str(entry.id), retry=Retry(max=2, interval=[5, 30]))
    return message_id


def follow_mail(entry: AlertLogEntry) -> None:
    """Save `entry` naming its mail message, then take the message's outcome if delivery
    already ended: a delivery that finished before this commit could not update the entry
    (`mail.deliver` updates the entries naming its message), one after it does."""
    db.session.add(entry)
    db.session.commit()
    message = db.session.scalars(
        select(MailMessage)
        .where(MailMessage.id == entry.mail_message_id)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if message is not None and message.status is not MailStatus.QUEUED:
        entry.status, entry.detail = alert_log_status(message)
        db.session.commit()


def _log(run: Run, channel: str, kind: str, recipient: str, status: str) -> AlertLogEntry:
    entry = AlertLogEntry(
        project_id=run.project_id,
        workflow_id=run.workflow_id,
        run_id=run.id,
        channel=channel,
        kind=kind,
        recipient=recipient[:400],
        status=status,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def _http_host(project: Project) -> str:
    try:
        return urlsplit(project.alert_webhook_url or "").hostname or "(no host)"
    except ValueError:
        return "(not a URL)"
