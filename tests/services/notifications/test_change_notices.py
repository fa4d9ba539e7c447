"""Workflow change notices: queued after a save only when someone else asked for them,
mailed to the opted-in members but not the author, naming steps, triggers and paths in the
reader's time zone and never the code, and delivered over real SMTP."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

import pytest
import sqlalchemy as sa
from rq import Queue

from app.extensions import MAIL_QUEUE, redis_client
from app.models import AlertLogEntry, MailMessage, ProjectMember, Role
from app.services.notifications import change_notices, links
from app.services.workflows import export, store
from tests import factories
from tests.services.test_mail import deliver_queued, smtp_inbox  # noqa: F401

MARKER = "fn(lambda state: {**state, 'zq': 'CODE-MARKER-58213'})"


@pytest.fixture
def mail_queue(app, db):
    queue = Queue(MAIL_QUEUE, connection=redis_client())
    queue.empty()
    yield queue
    queue.empty()


def person(project, role: Role, *, notices: bool, zone: str = "UTC", name: str = ""):
    from app.extensions import db

    someone = factories.user()
    someone.time_zone, someone.name = zone, name or someone.name
    factories.member(project, someone, role)
    member = db.session.scalar(
        sa.select(ProjectMember).where(
            ProjectMember.project_id == project.id, ProjectMember.user_id == someone.id
        )
    )
    member.workflow_change_notices = notices
    db.session.commit()
    return someone


def run_notice_jobs(queue: Queue) -> int:
    """Do what the worker does with the queued notices, in the test's session."""
    sent = 0
    for job in queue.jobs:
        if job.func_name == change_notices.JOB:
            workflow_id, actor_id, event, old, new, at = job.args
            sent += change_notices.send(
                uuid.UUID(workflow_id),
                uuid.UUID(actor_id) if actor_id else None,
                event,
                old,
                new,
                datetime.fromisoformat(at),
            )
            job.delete()
    return sent


def edited(flow) -> dict:
    """The flow with a step added, a step's code changed, and the trigger switched off."""
    document = export.export_document(store.get_workflow(flow.id))
    document["jobs"]["fetch"]["body"] = MARKER
    document["jobs"]["check"] = {
        "name": "Check with DHIS2",
        "adaptor": document["jobs"]["fetch"]["adaptor"],
        "body": "fn(lambda state: state)",
    }
    document["edges"]["load-check"] = {
        "source_job": "load",
        "target_job": "check",
        "condition_type": "always",
    }
    document["triggers"]["webhook"]["enabled"] = False
    return document


def mails(db) -> list[MailMessage]:
    return list(db.session.scalars(sa.select(MailMessage).order_by(MailMessage.to_address)))


def test_opted_in_members_but_not_the_author_hear_what_changed(db, project, flow, mail_queue):
    reader = person(project, Role.VIEWER, notices=True, zone="Pacific/Auckland")
    author = person(project, Role.EDITOR, notices=True, name="Mere Editor")
    person(project, Role.ADMIN, notices=False)
    store.replace_workflow(flow.id, edited(flow), actor_id=author.id)

    assert run_notice_jobs(mail_queue) == 1
    [message] = mails(db)
    assert message.to_address == reader.email
    assert message.subject == f"[Ferry] Patient sync changed in {project.name} by Mere Editor"
    text = message.text
    assert f"Mere Editor ({author.email}) changed the workflow Patient sync" in text
    assert "(Pacific/Auckland)" in text
    assert "Step added: Check with DHIS2" in text
    assert "Step changed: Fetch cases (its code changed)" in text
    assert "Trigger switched off: webhook trigger webhook" in text
    assert "Path added: Load cases -> Check with DHIS2" in text
    assert "CODE-MARKER-58213" not in text and "lambda" not in text
    [link] = re.findall(r"/unsubscribe/(\S+)", text)
    assert links.read_unsubscribe_token(link) == links.Unsubscribe(
        reader.id, project.id, links.CHANGE_NOTICES
    )
    assert f"/projects/{project.id}/workflows/{flow.id}" in text
    [entry] = db.session.scalars(sa.select(AlertLogEntry).where(AlertLogEntry.kind == "change"))
    assert (entry.recipient, entry.workflow_id) == (reader.email, flow.id)


def test_no_job_when_nobody_else_asked(db, project, flow, mail_queue):
    author = person(project, Role.EDITOR, notices=True)
    person(project, Role.VIEWER, notices=False)
    store.replace_workflow(flow.id, edited(flow), actor_id=author.id)
    assert mail_queue.jobs == []


def test_created_and_deleted_workflows_are_announced(db, project, mail_queue):
    reader = person(project, Role.VIEWER, notices=True)
    author = person(project, Role.EDITOR, notices=False)
    created = factories.workflow(project, name="Stock levels")
    store.delete_workflow(created.id, project.id, actor_id=author.id)
    assert run_notice_jobs(mail_queue) == 2
    subjects = [m.subject for m in mails(db)]
    assert sorted(subjects) == [
        f"[Ferry] Stock levels created in {project.name} by someone",
        f"[Ferry] Stock levels deleted in {project.name} by Test Person",
    ]
    created_text = next(m.text for m in mails(db) if "created" in m.subject)
    assert "Step added: First step" in created_text
    assert "Trigger added: webhook trigger webhook (on)" in created_text
    assert all(m.to_address == reader.email for m in mails(db))


def test_a_save_that_changes_nothing_mails_no_one(db, project, flow, mail_queue):
    person(project, Role.VIEWER, notices=True)
    same = export.export_document(store.get_workflow(flow.id))
    store.replace_workflow(flow.id, same)
    assert len(mail_queue.jobs) == 1
    assert run_notice_jobs(mail_queue) == 0
    assert mails(db) == []


def test_a_job_for_something_unknown_sends_nothing(db, project, flow, mail_queue):
    person(project, Role.VIEWER, notices=True)
    now = datetime.now()
    assert change_notices.send(uuid.uuid4(), None, "changed", 1, 2, now) == 0
    assert change_notices.send(flow.id, None, "exploded", 1, 2, now) == 0
    assert change_notices.send(flow.id, None, "changed", 41, 42, now) == 0
    assert mails(db) == []


def test_renames_paths_and_removals_are_named():
    old = {
        "name": "A",
        "concurrency": None,
        "steps": [
            {"id": "1", "key": "a", "name": "Alpha", "body": "x", "adaptor": "http@1"},
            {"id": "2", "key": "b", "name": "Beta", "body": "y", "adaptor": "http@1"},
        ],
        "triggers": [{"id": "t", "key": "cron", "type": "cron", "cron_expression": "0 * * * *"}],
        "edges": [{"source_step_id": "1", "target_step_id": "2", "condition_type": "always"}],
    }
    new = {
        "name": "B",
        "concurrency": None,
        "steps": [{"id": "1", "key": "a", "name": "Alpha 2", "body": "x", "adaptor": "http@1"}],
        "triggers": [{"id": "t", "key": "cron", "type": "cron", "cron_expression": "5 * * * *"}],
        "edges": [],
    }
    assert change_notices.describe_changes(old, new) == [
        "Renamed from A to B",
        "Step changed: Alpha 2 (renamed from Alpha)",
        "Step removed: Beta",
        "Trigger schedule changed: cron trigger cron (0 * * * * -> 5 * * * *)",
        "Path removed: Alpha -> Beta",
    ]
    assert change_notices.describe_changes(new, new) == []


def test_delivered_over_smtp(db, project, flow, mail_queue, smtp_inbox):  # noqa: F811
    reader = person(project, Role.VIEWER, notices=True, zone="America/Los_Angeles")
    author = person(project, Role.EDITOR, notices=False, name="Mere Editor")
    store.replace_workflow(flow.id, edited(flow), actor_id=author.id)
    run_notice_jobs(mail_queue)
    deliver_queued(mail_queue)
    [(recipients, message)] = smtp_inbox.messages
    assert recipients == [reader.email]
    assert message["Subject"] == f"[Ferry] Patient sync changed in {project.name} by Mere Editor"
    body = message.get_body(("plain",)).get_content()
    assert "(America/Los_Angeles)" in body and "CODE-MARKER-58213" not in body
    assert re.search(r"https?://\S+/unsubscribe/\S+", body)
    html = message.get_body(("html",)).get_content()
    assert "<li>Step added: Check with DHIS2</li>" in html
    assert "CODE-MARKER-58213" not in html and "lambda" not in html


def test_the_queued_job_runs_in_a_worker(db, project, flow, mail_queue):
    """The job's dotted path and arguments work as a worker calls them."""
    from tests.services.test_mail import run_mail_jobs

    reader_email, project_name = person(project, Role.VIEWER, notices=True).email, project.name
    store.delete_workflow(flow.id, project.id)
    [job] = mail_queue.jobs
    assert job.func_name == "workers.notice_jobs.change_notice"
    run_mail_jobs(mail_queue)
    [message] = mails(db)
    assert message.to_address == reader_email
    assert message.subject == f"[Ferry] Patient sync deleted in {project_name} by someone"
    assert "/workflows/" not in message.text  # a deleted workflow has no page to open


def test_deleting_on_the_workflows_page_names_the_signed_in_author(
    db, project, flow, signed_in, user, mail_queue
):
    from tests.support import post_form

    other = person(project, Role.VIEWER, notices=True)
    member = db.session.scalar(
        sa.select(ProjectMember).where(
            ProjectMember.project_id == project.id, ProjectMember.user_id == user.id
        )
    )
    member.workflow_change_notices = True  # the author asked too, and still hears nothing
    db.session.commit()
    base = f"/projects/{project.id}/workflows/{flow.id}/delete"
    response = post_form(signed_in, base, base, {"confirm": "Patient sync"})
    assert response.status_code == 302
    assert run_notice_jobs(mail_queue) == 1
    [message] = mails(db)
    assert message.to_address == other.email
    assert message.subject == f"[Ferry] Patient sync deleted in {project.name} by Test Person"
