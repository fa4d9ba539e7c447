"""Deleting a project and a user through the real stack (gunicorn, RQ workers, scheduler):
deleted over HTTP, hidden and stopped at once; once the grace period is over (moved into the
past in the database, as if the week had gone by) the scheduler queues the purge and a worker
removes the data, while the audit entries stay; a project and a user whose deletion was
cancelled are left alone."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from app.extensions import db
from app.models import (
    AuditEvent,
    Credential,
    Dataclip,
    Project,
    ProjectMember,
    Role,
    Run,
    User,
    WorkOrder,
)
from app.models.base import utcnow
from app.services import accounts
from tests import factories
from tests.engine.conftest import wait_until
from tests.engine.helpers import new_workflow, post_webhook, wait_for_work_order
from tests.support import csrf_token_from

PASSWORD = "correct horse battery staple"
DOCUMENT = """
name: Clinic intake
triggers:
  hook:
    type: webhook
jobs:
  keep:
    name: Keep the body
    adaptor: common@1
    body: |
      fn(lambda state: state)
edges:
  hook->keep:
    source_trigger: hook
    target_job: keep
    condition_type: always
"""


def signed_in(stack, email: str) -> httpx.Client:
    """A browser-like client signed in through the real sign-in form."""
    client = httpx.Client(base_url=stack.base_url, timeout=30)
    token = csrf_token_from(client.get("/login").text)
    reply = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    assert reply.status_code == 302, reply.text
    return client


def submit(client: httpx.Client, page: str, action: str, data: dict | None = None):
    """Open `page`, then post its form to `action` with the page's CSRF token."""
    token = csrf_token_from(client.get(page).text)
    return client.post(action, data={**(data or {}), "csrf_token": token})


def with_history(stack) -> dict:
    """A project with a workflow that ran once (a work order, a run, dataclips)."""
    workflow = new_workflow(stack, DOCUMENT)
    reply = post_webhook(stack, workflow["triggers"]["hook"], {"patient": "P-1"})
    assert reply.status_code == 200, reply.text
    assert wait_for_work_order(stack, reply.json()["work_order_id"])["state"] == "success"
    with stack.app.app_context():
        workflow["name"] = db.session.get(Project, workflow["project_id"]).name
        db.session.remove()
    workflow["history"] = counts(stack, workflow["project_id"])
    assert min(workflow["history"].values()) >= 1
    return workflow


def counts(stack, project_id) -> dict[str, int]:
    with stack.app.app_context():
        result = {
            model.__name__: db.session.scalar(
                select(func.count()).select_from(model).where(model.project_id == project_id)
            )
            for model in (WorkOrder, Run, Dataclip)
        }
        db.session.remove()
    return result


def entries(stack, item_id) -> list[tuple[str, uuid.UUID | None]]:
    with stack.app.app_context():
        rows = db.session.execute(
            select(AuditEvent.event, AuditEvent.actor_id).where(AuditEvent.item_id == item_id)
        ).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def owner_email(stack, project_id) -> str:
    with stack.app.app_context():
        email = db.session.scalar(
            select(User.email)
            .join(ProjectMember, ProjectMember.user_id == User.id)
            .where(ProjectMember.project_id == project_id, ProjectMember.role == Role.OWNER)
        )
        db.session.remove()
    return email


def end_grace_periods(stack, *, projects=(), users=()) -> None:
    """As if the week had gone by: the purge is due."""
    past = utcnow() - timedelta(seconds=1)
    with stack.app.app_context():
        for project_id in projects:
            db.session.get(Project, project_id).deletion_due_at = past
        for user_id in users:
            db.session.get(User, user_id).deletion_due_at = past
        db.session.commit()
        db.session.remove()


def gone(stack, model, item_id) -> bool:
    with stack.app.app_context():
        missing = db.session.get(model, item_id) is None
        db.session.remove()
    return missing


def test_deleted_projects_and_users_are_purged_by_the_scheduler_and_a_worker(stack):
    doomed, kept = with_history(stack), with_history(stack)
    for project in (doomed, kept):
        project["client"] = signed_in(stack, owner_email(stack, project["project_id"]))
        settings = f"/projects/{project['project_id']}/settings"
        reply = submit(project["client"], settings, f"{settings}/delete",
                       {"confirm_name": project["name"]})  # fmt: skip
        assert reply.status_code == 302, reply.text
        # Hidden at once, its webhook refused.
        assert project["client"].get(f"/projects/{project['project_id']}").status_code == 404
        refused = post_webhook(stack, project["triggers"]["hook"], {"patient": "P-2"})
        assert refused.status_code == 404
    listing = kept["client"].get("/").text
    assert "Scheduled for deletion" in listing and kept["name"] in listing
    cancelled = submit(kept["client"], "/", f"/projects/{kept['project_id']}/deletion/cancel")
    assert cancelled.status_code == 302

    # A user with a credential, deleted by a superuser; another deleted and kept after all.
    with stack.app.app_context():
        root = accounts.create_user(f"root-{uuid.uuid4().hex[:6]}@example.org", PASSWORD,
                                    superuser=True)  # fmt: skip
        leaving = accounts.create_user(f"leaving-{uuid.uuid4().hex[:6]}@example.org", PASSWORD)
        staying = accounts.create_user(f"staying-{uuid.uuid4().hex[:6]}@example.org", PASSWORD)
        project = db.session.get(Project, kept["project_id"])
        factories.member(project, leaving, Role.EDITOR)
        credential_id = factories.shared_dhis2_credential(leaving, project, "pw-1").id
        root_email, people = root.email, {"leaving": leaving, "staying": staying}
        people = {name: (person.id, person.email) for name, person in people.items()}
        db.session.remove()
    admin = signed_in(stack, root_email)
    for user_id, email in people.values():
        page = f"/admin/users/{user_id}/delete"
        reply = submit(admin, page, page, {"confirm_email": email})
        assert reply.status_code == 302, reply.text
    assert "Deletion on" in admin.get("/admin/users/").text
    staying_id = people["staying"][0]
    page = f"/admin/users/{staying_id}"
    assert submit(admin, page, f"{page}/deletion/cancel").status_code == 302
    leaving_id, leaving_email = people["leaving"]
    # They cannot sign in while the deletion waits.
    refused = httpx.Client(base_url=stack.base_url, timeout=30)
    token = csrf_token_from(refused.get("/login").text)
    reply = refused.post(
        "/login", data={"email": leaving_email, "password": PASSWORD, "csrf_token": token}
    )
    assert reply.status_code != 302

    end_grace_periods(stack, projects=[doomed["project_id"]], users=[leaving_id])
    # A second scheduler runs every task on its first tick (the stack's own looks for due
    # purges every 5 minutes); two schedulers at once are safe by design.
    extra = stack._spawn("scheduler-deletions", "scheduler")
    try:
        wait_until(lambda: gone(stack, Project, doomed["project_id"]), "the project's purge", 90)
        wait_until(lambda: gone(stack, User, leaving_id), "the user's purge", 60)
    finally:
        extra.terminate()
        extra.wait(timeout=15)

    assert counts(stack, doomed["project_id"]) == {"WorkOrder": 0, "Run": 0, "Dataclip": 0}
    events = dict(entries(stack, doomed["project_id"]))
    assert events["deleted"] is not None and events["purged"] is None
    assert gone(stack, Credential, credential_id)
    # The credential's trail stays, its actor (the purged user, then Ferry) now NULL.
    trail = entries(stack, credential_id)
    assert {"created", "shared", "deleted"} <= {event for event, _ in trail}
    assert {actor for _, actor in trail} == {None}
    user_events = dict(entries(stack, leaving_id))
    assert user_events["deleted"] is not None and user_events["purged"] is None
    # The cancelled ones are untouched, and the project takes webhooks again.
    assert counts(stack, kept["project_id"]) == kept["history"]
    assert not gone(stack, User, staying_id)
    again = post_webhook(stack, kept["triggers"]["hook"], {"patient": "P-3"})
    assert again.status_code == 200, again.text
