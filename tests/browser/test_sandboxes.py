"""The sandbox journey in Chromium: an owner clones a project into a sandbox from its settings
page, the sandbox's step is changed, the comparison shows that step and its body diff, the
parent's same step is changed meanwhile, and the merge review warns about it, needs the tick,
then merges (the parent takes the sandbox's body and keeps its schedule switched on)."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import User
from app.services import projects
from app.services.demo import DEMO_EMAIL
from app.services.project_code.document import keyed_workflows
from app.services.workflows import store
from app.services.workflows.export import export_document
from tests.browser.conftest import screenshot
from tests.browser.studio_helpers import sign_in, with_live_data

WORKFLOW = """
name: Patient sync
triggers:
  nightly:
    type: cron
    cron_expression: "0 2 * * *"
    enabled: true
  webhook:
    type: webhook
    enabled: true
jobs:
  fetch:
    name: Fetch patients
    adaptor: http@1
    body: |
      get("https://example.org/api/patients")
  load:
    name: Load into DHIS2
    adaptor: http@1
    body: |
      post("https://example.org/api/trackedEntities", S.data)
edges:
  nightly->fetch:
    source_trigger: nightly
    target_job: fetch
  webhook->fetch:
    source_trigger: webhook
    target_job: fetch
  fetch->load:
    source_job: fetch
    target_job: load
    condition_type: on_job_success
"""


def clinic(name: str) -> str:
    """A project of the demo user with the workflow above; its id."""

    def change():
        owner = db.session.query(User).filter_by(email=DEMO_EMAIL).one()
        project = projects.create_project(owner, name, "Registrations from the clinics")
        store.create_workflow(project.id, WORKFLOW, owner.id)
        return str(project.id)

    return with_live_data(change)


def set_load_body(project_id: str, body: str) -> None:
    """Save a new body for the "load" step, as a save in the builder would."""

    def change():
        owner = db.session.query(User).filter_by(email=DEMO_EMAIL).one()
        workflow = keyed_workflows(uuid.UUID(project_id))["patient-sync"]
        document = export_document(workflow)
        document["jobs"]["load"]["body"] = body
        store.replace_workflow(workflow.id, document, actor_id=owner.id)

    with_live_data(change)


def load_step(project_id: str) -> tuple[str, bool]:
    """The parent's "load" body and whether its nightly schedule is on."""

    def read():
        workflow = keyed_workflows(uuid.UUID(project_id))["patient-sync"]
        body = {s.key: s.body for s in workflow.steps}["load"]
        return body, {t.key: t.enabled for t in workflow.triggers}["nightly"]

    return with_live_data(read)


def test_clone_change_compare_and_merge_after_the_parent_changed(page: Page):
    name = f"Clinic {uuid.uuid4().hex[:6]}"
    parent_id = clinic(name)
    sign_in(page)

    page.goto(f"/projects/{parent_id}/settings")
    page.get_by_role("link", name="Create sandbox").click()
    expect(page.get_by_role("heading", name=f"Create a sandbox of “{name}”")).to_be_visible()
    expect(page.get_by_text("Schedules are copied switched off")).to_be_visible()
    screenshot(page, "sandbox-new")
    page.get_by_label("Sandbox name").fill(f"{name} rewrite")
    page.get_by_role("button", name="Create sandbox").click()
    badge = page.locator("[data-sandbox-badge]")
    expect(badge).to_have_text(f"Sandbox of {name}")
    sandbox_id = page.url.rstrip("/").rsplit("/", 1)[1]

    set_load_body(sandbox_id, 'post("https://example.org/api/events", S.data)\n')
    badge.click()
    expect(page.get_by_role("heading", name=f"Compare with “{name}”")).to_be_visible()
    card = page.locator('[data-workflow="patient-sync"]')
    expect(card.locator('[data-entry="load"]')).to_contain_text("changed")
    diff = card.locator('[data-body-diff="load"]')
    expect(diff).to_contain_text('+post("https://example.org/api/events", S.data)')
    expect(diff).to_contain_text('-post("https://example.org/api/trackedEntities", S.data)')
    screenshot(page, "sandbox-compare")

    set_load_body(parent_id, 'post("https://example.org/api/v2/trackedEntities", S.data)\n')
    page.goto(f"/projects/{parent_id}/settings#sandboxes")
    expect(page.locator("[data-sandbox-list]")).to_contain_text(f"{name} rewrite")
    screenshot(page, "sandbox-parent-settings")
    page.goto(f"/projects/{sandbox_id}/sandbox/compare")
    page.get_by_role("link", name="Review merge").click()
    warning = page.locator("[data-parent-changed]")
    expect(warning).to_contain_text(f"“{name}” changed since this sandbox was cloned")
    expect(warning.locator("[data-replaced]")).to_contain_text(
        "workflows.patient-sync.jobs.load.body"
    )
    expect(warning).to_contain_text("would be replaced")
    warning.get_by_text("What the parent changed").click()
    expect(warning.locator("pre")).to_contain_text('+post("https://example.org/api/v2/')
    tick = page.get_by_label("I understand the parent's changes listed above will be replaced")
    expect(tick).not_to_be_checked()
    screenshot(page, "sandbox-merge-warning")

    merge = page.get_by_role("button", name=f"Merge into “{name}”")
    merge.click()  # the browser keeps the form until the box is ticked
    expect(tick).to_be_visible()
    assert load_step(parent_id)[0].startswith('post("https://example.org/api/v2/')
    tick.check()
    merge.click()
    expect(page.get_by_text(f"Sandbox merged into “{name}”.")).to_be_visible()
    assert page.url.rstrip("/").endswith(parent_id)
    assert load_step(parent_id) == ('post("https://example.org/api/events", S.data)\n', True)
    page.goto("/")
    expect(page.locator("[data-sandbox-label]", has_text=f"Sandbox of {name}")).to_have_count(1)
    screenshot(page, "sandbox-projects-list")
