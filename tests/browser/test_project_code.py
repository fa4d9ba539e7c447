"""Project as code in Chromium: an owner downloads project.yaml from the settings page,
changes a step's body, pastes it back, sees the change (with its line diff) before anything
is stored, applies it; a document with problems lists each at its path and changes nothing."""

from __future__ import annotations

from pathlib import Path

import yaml
from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import User
from app.services import projects
from app.services.demo import DEMO_EMAIL
from app.services.workflows import store
from tests.browser.conftest import screenshot
from tests.browser.studio_helpers import sign_in, with_live_data
from tests.services.project_code.sample_project import CASE_INTAKE


def clinic() -> str:
    """A project of the demo user with one workflow; its id."""

    def change():
        owner = db.session.query(User).filter_by(email=DEMO_EMAIL).one()
        project = projects.create_project(owner, "Clinic as code")
        store.create_workflow(project.id, CASE_INTAKE)
        return str(project.id)

    return with_live_data(change)


def test_download_change_plan_and_apply_a_project_yaml(page: Page):
    project_id = clinic()
    sign_in(page)
    page.goto(f"/projects/{project_id}/settings#code")
    card = page.locator("#code")
    with page.expect_download() as download:
        card.get_by_role("link", name="Download project.yaml").click()
    assert download.value.suggested_filename == "project.yaml"
    doc = yaml.safe_load(Path(download.value.path()).read_text())
    assert doc["name"] == "Clinic as code"
    doc["workflows"]["case-intake"]["jobs"]["receive"]["body"] = (
        "fn(lambda state: state)\nlog('checked by the clinic')\n"
    )
    card.get_by_label("Paste a project.yaml").fill(yaml.safe_dump(doc, sort_keys=False))
    card.get_by_role("button", name="Show changes").click()
    plan = page.locator("#code-plan")
    expect(plan).to_contain_text("Applying this project.yaml will make 1 change:")
    expect(plan).to_contain_text("workflows.case-intake.jobs.receive.body")
    plan.get_by_text("Show the line changes").click()
    expect(plan.locator("pre")).to_contain_text("+log('checked by the clinic')")
    plan.scroll_into_view_if_needed()
    screenshot(page, "project-code-plan")
    page.set_viewport_size({"width": 768, "height": 800})  # the sidebar folds away
    expect(plan.get_by_role("button", name="Apply")).to_be_visible()
    screenshot(page, "project-code-plan-768")
    page.set_viewport_size({"width": 1280, "height": 800})
    plan.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("project.yaml applied: 1 change.")).to_be_visible()

    doc["settings"] = {"concurrency": 0, "egress_allowlist": ["0.0.0.0/0"]}
    doc["workflows"]["case-intake"]["edges"]["webhook->receive"]["target_job"] = "nowhere"
    page.locator("#code").get_by_label("Paste a project.yaml").fill(yaml.safe_dump(doc))
    page.locator("#code").get_by_role("button", name="Show changes").click()
    problems = page.locator("#code-problems")
    expect(problems).to_contain_text("Nothing was changed: the document has 3 problems.")
    expect(problems).to_contain_text("settings.egress_allowlist.0")
    expect(problems).to_contain_text("workflows.case-intake.edges.webhook->receive.target_job")
    problems.scroll_into_view_if_needed()
    screenshot(page, "project-code-problems")
