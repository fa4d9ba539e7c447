"""Git sync in Chromium against a local bare repository: an admin connects the project on the
Git sync tab and watches it reach "In sync"; someone else's push comes in with "Pull from
git"; a step changed both in Ferry and in git shows the conflict with a line diff, and
"Take git's" applies git's version."""

from __future__ import annotations

import time
import uuid

from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import ProjectGitRemote, ProjectMember, Role, User
from app.services import accounts, projects
from app.services.demo import DEMO_EMAIL
from app.services.workflows import store
from tests.browser.conftest import screenshot
from tests.browser.studio_helpers import sign_in, with_live_data
from tests.services.git_sync.helpers import JOB_FILE, PATIENT_SYNC, Clone, bare_repository

PASSWORD = "git-sync-journey-password"


def _project(email: str) -> dict[str, str]:
    def change():
        owner = db.session.query(User).filter_by(email=DEMO_EMAIL).one()
        project = projects.create_project(owner, "Clinic git sync")
        admin = accounts.create_user(email, PASSWORD, name="Gita Admin")
        db.session.add(ProjectMember(project_id=project.id, user_id=admin.id, role=Role.ADMIN))
        db.session.commit()
        workflow = store.create_workflow(project.id, PATIENT_SYNC.format(body="log('v1')"))
        return {"project": str(project.id), "workflow": str(workflow.id), "admin": str(admin.id)}

    return with_live_data(change)


def _body(workflow_id: str) -> str:
    return with_live_data(lambda: store.get_workflow(uuid.UUID(workflow_id)).steps[0].body)


def _status(project_id: str) -> str:
    return with_live_data(lambda: db.session.get(ProjectGitRemote, uuid.UUID(project_id)).status)


def _badge(page: Page):
    return page.locator("#git-status [data-status]")


def test_connect_pull_and_resolve_a_conflict(page: Page, tmp_path):
    email = f"gita-{uuid.uuid4().hex[:6]}@example.org"
    ids = _project(email)
    bare = bare_repository(tmp_path)
    sign_in(page, email, PASSWORD)
    page.goto(f"/projects/{ids['project']}/settings/git")
    expect(page.get_by_role("heading", name="Connect a git repository")).to_be_visible()
    page.get_by_label("Repository URL").fill(str(bare))
    page.get_by_label("Sign in with").select_option("none")
    page.get_by_role("button", name="Connect", exact=True).click()
    expect(page.get_by_text("Git connection saved")).to_be_visible()
    expect(_badge(page)).to_have_attribute("data-status", "ok", timeout=60_000)
    expect(_badge(page)).to_contain_text("In sync")
    screenshot(page, "git-sync-connected")

    clone = Clone(bare, tmp_path)
    assert clone.read(JOB_FILE) == "log('v1')\n"
    clone.write(JOB_FILE, "log('edited in git')\n")
    clone.push("Grace edits the fetch job")
    page.get_by_role("button", name="Pull from git").click()
    expect(_badge(page)).to_have_attribute("data-status", "ok", timeout=60_000)
    assert _body(ids["workflow"]) == "log('edited in git')\n"

    clone = Clone(bare, tmp_path / "second")
    clone.write(JOB_FILE, "log('git side')\n")
    clone.push("Git side")

    def save_in_ferry():
        store.replace_workflow(
            uuid.UUID(ids["workflow"]),
            PATIENT_SYNC.format(body="log('ferry side')"),
            actor_id=uuid.UUID(ids["admin"]),
        )

    with_live_data(save_in_ferry)  # its background sync finds git moved: a conflict
    deadline = time.monotonic() + 60
    while _status(ids["project"]) != "conflict":
        assert time.monotonic() < deadline, "the save's sync never reported the conflict"
        time.sleep(0.5)
    page.reload()
    conflict = page.locator("#git-conflict")
    expect(conflict).to_contain_text("workflows.patient-sync.jobs.fetch.body")
    expect(conflict).to_contain_text("-log('ferry side')")
    expect(conflict).to_contain_text("+log('git side')")
    assert _body(ids["workflow"]) == "log('ferry side')\n", "nothing applied yet"
    screenshot(page, "git-sync-conflict")

    conflict.get_by_text("Take git's (apply)…").click()
    conflict.get_by_role("button", name="Yes, take git's").click()
    expect(_badge(page)).to_have_attribute("data-status", "ok", timeout=60_000)
    expect(page.locator("#git-conflict")).to_have_count(0)
    assert _body(ids["workflow"]) == "log('git side')\n"
    screenshot(page, "git-sync-resolved")
