"""Deleting a project (app/services/deletions/projects.py): hidden at once, purged by a job
only once the grace period has ended, brought back exactly as it was by a cancel before then,
and the audit entries stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.models import (
    AuditEvent,
    Credential,
    Dataclip,
    Project,
    ProjectCredential,
    ProjectMember,
    Role,
    Run,
    StepRun,
    User,
    Workflow,
    WorkOrder,
)
from app.models.base import utcnow
from app.services import projects
from app.services.deletions import due, jobs
from app.services.deletions import projects as deletion
from app.services.errors import Conflict, Invalid, NotFound
from app.services.triggers import webhook_targets
from app.services.triggers.webhook_input import WebhookRefused
from app.services.workflows import store
from tests import factories
from tests import history_factories as hf


def entries(db, project_id, event: str) -> list[AuditEvent]:
    """The project's audit entries of one event."""
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.project_id == project_id, AuditEvent.event == event)
        )
    )


def count(db, model, **where) -> int:
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return db.session.scalar(query)


def make_due(db, project) -> None:
    """Move the end of the grace period into the past, as if the days had gone by."""
    project.deletion_due_at = utcnow() - timedelta(seconds=1)
    db.session.commit()


@pytest.mark.parametrize(
    "typed",
    ["", "clinic intake", "Clinic intake!", "Clinic", "Clinic\x00intake", "Clinic intake\x00"],
)
def test_deletion_needs_the_exact_name(db, user, project, default_queue, typed):
    with pytest.raises(Invalid, match="exactly as shown"):
        deletion.request_deletion(user, project.id, typed)
    assert projects.get_project(project.id).deletion_requested_at is None
    assert default_queue.count == 0


def test_a_deleted_project_disappears_at_once_and_waits_out_the_grace_period(
    db, user, project, default_queue, run_jobs
):
    admin = factories.user(superuser=True)
    flow = hf.workflow(project)
    trigger_id = str(flow.triggers[0].id)
    hf.work_order(flow)
    kept = factories.project(user, "Kept")
    before = utcnow()
    deleted = deletion.request_deletion(user, project.id, " Clinic intake ")
    assert deleted.name == "Clinic intake"
    assert before + timedelta(days=7) <= deleted.deletion_due_at <= utcnow() + timedelta(days=7)
    with pytest.raises(NotFound):
        projects.get_project(project.id)
    assert [p.name for p, _ in projects.projects_for_user(user)] == ["Kept"]
    seen_by_superuser = {p.id for p, _ in projects.projects_for_user(admin)}
    assert kept.id in seen_by_superuser and project.id not in seen_by_superuser
    with pytest.raises(WebhookRefused):  # its webhooks stop at once
        webhook_targets.find_target(trigger_id)
    [entry] = entries(db, project.id, "deleted")
    assert (entry.item_type, entry.actor_id, entry.changes["name"]) == (
        "project",
        user.id,
        "Clinic intake",
    )
    # Nothing is queued during the grace period, and a job run early does nothing.
    assert default_queue.count == 0
    assert due.queue_due() == 0 and default_queue.count == 0
    project_id = project.id
    jobs.enqueue_project(project_id)
    run_jobs()
    assert count(db, WorkOrder, project_id=project_id) == 1
    assert db.session.get(Project, project_id) is not None
    assert deletion.purge(project_id) is False


def test_the_purge_removes_the_data_and_keeps_the_audit_entries(
    db, user, project, default_queue, run_jobs
):
    colleague = factories.user()
    factories.member(project, colleague, Role.EDITOR)
    credential = factories.shared_dhis2_credential(user, project, "s3cret")
    flow = hf.workflow(project)
    for state in ("success", "failed", "success"):
        hf.work_order(flow, state=state, logs=[("info", "hello")])
    other = factories.project(user, "Other")
    hf.work_order(hf.workflow(other))
    project_id, other_id, colleague_id, credential_id, user_id = (
        project.id,
        other.id,
        colleague.id,
        credential.id,
        user.id,
    )
    deletion.request_deletion(user, project_id, "Clinic intake")
    make_due(db, project)

    assert due.queue_due() == 1
    assert due.queue_due() == 1
    assert default_queue.count == 1  # queued once however often the scheduler looks
    [job] = default_queue.get_jobs()
    assert job.func_name == jobs.PROJECT_JOB and job.args == (str(project_id),)
    run_jobs()

    assert db.session.get(Project, project_id) is None
    for model in (WorkOrder, Run, Dataclip, Workflow, ProjectMember, ProjectCredential):
        assert count(db, model, project_id=project_id) == 0, model.__name__
    step_runs = select(func.count()).select_from(StepRun).join(Run)
    assert db.session.scalar(step_runs.where(Run.project_id == project_id)) == 0
    # What is not the project's stays: the other project, the people, the credential.
    assert count(db, WorkOrder, project_id=other_id) == 1
    assert db.session.get(User, colleague_id) is not None
    assert db.session.get(Credential, credential_id) is not None
    assert [e.actor_id for e in entries(db, project_id, "deleted")] == [user_id]
    [purged] = entries(db, project_id, "purged")
    assert (purged.actor_id, purged.changes) == (None, {"name": "Clinic intake"})
    # Running it again (a retry) has nothing left to do; nothing is due any more.
    assert deletion.purge(project_id) is False
    assert due.queue_due() == 0


def test_without_a_grace_period_the_purge_is_queued_at_once(
    db, user, project, default_queue, run_jobs, no_grace
):
    hf.work_order(hf.workflow(project))
    project_id = project.id
    deleted = deletion.request_deletion(user, project_id, "Clinic intake")
    assert deleted.deletion_due_at == deleted.deletion_requested_at
    assert jobs.purge_date_if_deleted_now() is None
    assert deletion.scheduled_for(user)[0].cancellable is False
    with pytest.raises(Conflict, match="can no longer be restored"):
        deletion.cancel_deletion(user, project_id)
    run_jobs()
    assert db.session.get(Project, project_id) is None


def test_a_cancel_brings_back_exactly_what_the_deletion_hid(db, user, project):
    earlier = factories.workflow(project, name="Retired sync")
    store.delete_workflow(earlier.id, project.id)
    flow = factories.workflow(project, name="Patient sync")
    trigger_id = str(flow.triggers[0].id)
    deletion.request_deletion(user, project.id, "Clinic intake")

    restored = deletion.cancel_deletion(user, project.id)

    assert restored.deletion_requested_at is None and restored.deletion_due_at is None
    assert projects.get_project(project.id).name == "Clinic intake"
    assert [w.name for w in store.list_workflows(project.id)] == ["Patient sync"]
    assert db.session.get(Workflow, earlier.id).deleted_at is not None
    assert webhook_targets.find_target(trigger_id) is not None
    [entry] = entries(db, project.id, "deletion_cancelled")
    assert (entry.actor_id, entry.changes) == (
        user.id,
        {"name": "Clinic intake", "workflows_restored": 1},
    )
    assert deletion.scheduled_for(user) == []


def test_a_job_queued_before_a_cancel_does_nothing(db, user, project, default_queue, run_jobs):
    hf.work_order(hf.workflow(project))
    project_id = project.id
    deletion.request_deletion(user, project_id, "Clinic intake")
    jobs.enqueue_project(project_id)
    deletion.cancel_deletion(user, project_id)
    run_jobs()
    assert count(db, WorkOrder, project_id=project_id) == 1
    assert projects.get_project(project_id) is not None
    assert entries(db, project_id, "purged") == []


def test_only_the_owner_or_a_superuser_may_cancel(db, user, project):
    admin = factories.user()
    factories.member(project, admin, Role.ADMIN)
    stranger = factories.user()
    deletion.request_deletion(user, project.id, "Clinic intake")
    for person in (admin, stranger):
        with pytest.raises(NotFound):
            deletion.cancel_deletion(person, project.id)
        assert deletion.scheduled_for(person) == []
    superuser = factories.user(superuser=True)
    [listed] = deletion.scheduled_for(superuser)
    assert (listed.id, listed.name, listed.cancellable) == (project.id, "Clinic intake", True)
    deletion.cancel_deletion(superuser, project.id)
    assert projects.get_project(project.id) is not None


def test_a_cancel_after_the_grace_period_or_of_a_live_or_purged_project_is_refused(
    db, user, project
):
    with pytest.raises(Conflict, match="is not scheduled for deletion"):
        deletion.cancel_deletion(user, project.id)
    deletion.request_deletion(user, project.id, "Clinic intake")
    make_due(db, project)
    with pytest.raises(Conflict, match="its data is being removed"):
        deletion.cancel_deletion(user, project.id)
    assert deletion.scheduled_for(user)[0].cancellable is False
    assert deletion.purge(project.id) is True
    with pytest.raises(NotFound, match="removed for good"):
        deletion.cancel_deletion(user, project.id)


def test_a_project_whose_owner_was_purged_meanwhile_cannot_come_back(db, user, project):
    superuser = factories.user(superuser=True)
    deletion.request_deletion(user, project.id, "Clinic intake")
    db.session.execute(
        ProjectMember.__table__.delete().where(ProjectMember.project_id == project.id)
    )
    db.session.commit()
    with pytest.raises(Conflict, match="a project always has an owner"):
        deletion.cancel_deletion(superuser, project.id)


def test_deletions_from_before_grace_periods_are_due(db, user, project, default_queue):
    project.deletion_requested_at = utcnow() - timedelta(hours=1)  # no due time: the old way
    recent = factories.project(user, "Recent")
    deletion.request_deletion(user, recent.id, "Recent")
    assert deletion.due_ids(utcnow()) == [project.id]
    assert due.queue_due() == 1
    assert [job.args for job in default_queue.get_jobs()] == [(str(project.id),)]


def test_the_purge_never_touches_a_live_project(db, user, project):
    hf.work_order(hf.workflow(project))
    assert deletion.purge(project.id) is False
    assert count(db, WorkOrder, project_id=project.id) == 1
