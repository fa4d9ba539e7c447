"""Project settings: every change audited with before and after, nothing stored when input is
refused; deletion hides the project at once and a queued job really removes its data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from redis import Redis
from rq import Queue, SimpleWorker
from sqlalchemy import func, select

from app.extensions import DEFAULT_QUEUE
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
from app.services import project_settings, projects
from app.services.errors import Invalid, NotFound
from app.services.triggers import webhook_targets
from app.services.triggers.webhook_input import WebhookRefused
from tests import factories
from tests import history_factories as hf


@pytest.fixture
def default_queue(settings):
    redis = Redis.from_url(settings.redis_url)
    redis.delete(f"rq:queue:{DEFAULT_QUEUE}")
    yield Queue(DEFAULT_QUEUE, connection=redis)
    redis.delete(f"rq:queue:{DEFAULT_QUEUE}")


def entries(db, project, event: str) -> list[AuditEvent]:
    """The project's audit entries of one event, oldest first (`project` may be its id)."""
    project_id = getattr(project, "id", project)
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.project_id == project_id, AuditEvent.event == event)
            .order_by(AuditEvent.inserted_at, AuditEvent.id)
        )
    )


def count(db, model, **where) -> int:
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return db.session.scalar(query)


def test_renaming_is_audited_with_before_and_after(db, user, project):
    project_settings.update_details(user, project.id, "  Clinic   intake v2 ", "Syncs the clinic")
    assert (project.name, project.description) == ("Clinic intake v2", "Syncs the clinic")
    [entry] = entries(db, project, "updated")
    assert entry.actor_id == user.id and entry.item_id == project.id
    assert entry.changes == {
        "name": ["Clinic intake", "Clinic intake v2"],
        "description": ["", "Syncs the clinic"],
    }
    project_settings.update_details(user, project.id, "Clinic intake v2", "Syncs the clinic")
    assert len(entries(db, project, "updated")) == 1  # nothing changed, nothing audited


@pytest.mark.parametrize(
    ("name", "description", "field", "message"),
    [
        ("   ", "", "name", "Give the project a name"),
        ("x" * 201, "", "name", "at most 200"),
        ("Clinic", "d" * 2001, "description", "at most 2,000"),
        ("Cli\x00nic", "", "name", "NUL"),
        ("Clinic", "a\x00b", "description", "NUL"),
    ],
)
def test_bad_details_are_refused_and_nothing_is_stored(db, user, project, name, description,
                                                       field, message):  # fmt: skip
    with pytest.raises(Invalid) as refused:
        project_settings.update_details(user, project.id, name, description)
    assert (refused.value.field, message in refused.value.message) == (field, True)
    db.session.expire_all()
    assert db.session.get(Project, project.id).name == "Clinic intake"
    assert entries(db, project, "updated") == []


def test_the_allowlist_is_stored_tidied_and_audited(db, user, project):
    warnings = project_settings.update_allowlist(
        user, project.id, "DHIS2.lan\n\n10.0.0.0/8\n127.0.0.1:8080\ndhis2.lan"
    )
    assert project.egress_allowlist == ["dhis2.lan", "10.0.0.0/8", "127.0.0.1:8080"]
    assert any("10.0.0.0/8" in w for w in warnings)
    project_settings.update_allowlist(user, project.id, "127.0.0.1:8080")
    first, second = entries(db, project, "egress_changed")
    assert first.changes == {
        "egress_allowlist": [[], ["dhis2.lan", "10.0.0.0/8", "127.0.0.1:8080"]]
    }
    assert second.changes["egress_allowlist"][1] == ["127.0.0.1:8080"]


def test_a_bad_allowlist_line_changes_nothing(db, user, project):
    project_settings.update_allowlist(user, project.id, "10.0.0.5")
    with pytest.raises(Invalid, match=r"Line 2 \(0\.0\.0\.0/0\)"):
        project_settings.update_allowlist(user, project.id, "dhis2.lan\n0.0.0.0/0")
    db.session.expire_all()
    assert db.session.get(Project, project.id).egress_allowlist == ["10.0.0.5"]
    assert len(entries(db, project, "egress_changed")) == 1


def test_the_saved_allowlists_warnings_skip_entries_stored_by_hand(db, project):
    project.egress_allowlist = ["192.168.0.0/16", "0.0.0.0/0 by hand"]
    assert ["192.168.0.0/16" in w for w in project_settings.allowlist_warnings(project)] == [True]


def test_requiring_mfa_is_audited(db, user, project):
    project_settings.set_require_mfa(user, project.id, True)
    project_settings.set_require_mfa(user, project.id, True)
    project_settings.set_require_mfa(user, project.id, False)
    changes = [
        e.changes for e in sorted(entries(db, project, "mfa_changed"), key=lambda e: e.inserted_at)
    ]
    assert changes == [{"require_mfa": [False, True]}, {"require_mfa": [True, False]}]


@pytest.mark.parametrize("typed", ["", "clinic intake", "Clinic intake!", "Clinic"])
def test_deletion_needs_the_exact_name(db, user, project, default_queue, typed):
    with pytest.raises(Invalid, match="exactly as shown"):
        project_settings.request_deletion(user, project.id, typed)
    assert projects.get_project(project.id).deletion_requested_at is None
    assert default_queue.count == 0


def test_a_deleted_project_disappears_at_once_and_its_job_is_queued(db, user, project,
                                                                    default_queue):  # fmt: skip
    admin = factories.user(superuser=True)
    flow = hf.workflow(project)
    trigger_id = flow.triggers[0].id
    kept = factories.project(user, "Kept")
    assert project_settings.request_deletion(user, project.id, " Clinic intake ") == "Clinic intake"
    with pytest.raises(NotFound):
        projects.get_project(project.id)
    assert [p.name for p, _ in projects.projects_for_user(user)] == ["Kept"]
    seen_by_superuser = {p.id for p, _ in projects.projects_for_user(admin)}
    assert kept.id in seen_by_superuser and project.id not in seen_by_superuser
    # Its webhooks stop at once.
    with pytest.raises(WebhookRefused):
        webhook_targets.find_target(str(trigger_id))
    [entry] = entries(db, project, "deleted")
    assert (entry.item_type, entry.actor_id, entry.changes) == (
        "project",
        user.id,
        {"name": "Clinic intake"},
    )
    [job] = default_queue.get_jobs()
    assert job.func_name == project_settings.DELETE_JOB and job.args == (str(project.id),)
    # Queued only once, however often the deletion is retried while the job waits.
    project.deletion_requested_at -= timedelta(hours=1)
    db.session.commit()
    assert project_settings.retry_stalled_deletions() == [project.id]
    assert default_queue.count == 1


def test_the_deletion_job_removes_the_data_and_keeps_the_audit_entry(db, user, project,
                                                                     default_queue):  # fmt: skip
    colleague = factories.user()
    factories.member(project, colleague, Role.EDITOR)
    credential = factories.shared_dhis2_credential(user, project, "s3cret")
    flow = hf.workflow(project)
    for state in ("success", "failed", "success"):
        hf.work_order(flow, state=state, logs=[("info", "hello")])
    other = factories.project(user, "Other")
    other_flow = hf.workflow(other)
    hf.work_order(other_flow)
    project_id, other_id, colleague_id, credential_id = (
        project.id,
        other.id,
        colleague.id,
        credential.id,
    )
    assert count(db, WorkOrder, project_id=project_id) == 3
    project_settings.request_deletion(user, project_id, "Clinic intake")

    SimpleWorker([default_queue], connection=default_queue.connection).work(burst=True)

    assert db.session.get(Project, project_id) is None
    for model in (WorkOrder, Run, Dataclip, Workflow, ProjectMember):
        assert count(db, model, project_id=project_id) == 0, model.__name__
    assert count(db, ProjectCredential, project_id=project_id) == 0
    assert (
        db.session.scalar(
            select(func.count()).select_from(StepRun).join(Run).where(Run.project_id == project_id)
        )
        == 0
    )
    # What is not the project's stays: the other project, the people, the credential.
    assert count(db, WorkOrder, project_id=other_id) == 1
    assert db.session.get(User, colleague_id) is not None
    assert db.session.get(Credential, credential_id) is not None
    [entry] = entries(db, project_id, "deleted")
    assert entry.changes == {"name": "Clinic intake"}
    # Running it again (a retry) has nothing left to do.
    assert project_settings.delete_project_data(project_id) is False


def test_the_deletion_job_never_touches_a_live_project(db, user, project):
    flow = hf.workflow(project)
    hf.work_order(flow)
    assert project_settings.delete_project_data(project.id) is False
    assert count(db, WorkOrder, project_id=project.id) == 1


def test_only_deletions_requested_long_ago_are_queued_again(db, user, project, default_queue):
    project.deletion_requested_at = utcnow() - timedelta(hours=1)
    recent = factories.project(user, "Recent")
    project_settings.request_deletion(user, recent.id, "Recent")
    default_queue.empty()
    assert project_settings.retry_stalled_deletions() == [project.id]
    assert [job.args for job in default_queue.get_jobs()] == [(str(project.id),)]
