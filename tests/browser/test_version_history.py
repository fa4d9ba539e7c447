"""Version history in Chromium: change a step's body and save it with a message, find it in
the History, compare it with the version before (the step marked on the canvas, the changed
line in the body diff), restore the version before, and a run then uses the restored body."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from app.extensions import db
from tests.browser.conftest import screenshot
from tests.browser.studio_helpers import (
    click_empty_canvas,
    click_node,
    sign_in,
    type_in_editor,
    with_live_data,
)
from tests.browser.test_studio import open_new_workflow


def mark_of(page: Page, element_id: str) -> str:
    """The comparison mark drawn on a canvas element ('' when unmarked)."""
    return page.evaluate(
        "id => window.ferryVersion.graph.cy.getElementById(id).data('mark') || ''", element_id
    )


def test_compare_then_restore_the_version_before_and_run_it(page: Page):
    sign_in(page)
    open_new_workflow(page, "Versioned greetings")
    page.get_by_role("button", name="Add trigger").click()
    page.get_by_role("button", name="Webhook").click()
    click_node(page, "trigger:webhook")
    page.locator("#studio-plus").click()
    page.get_by_label("Name", exact=True).fill("Greet")
    page.get_by_label("Adaptor", exact=True).select_option("common")
    type_in_editor(page, "#step-body-editor", 'log("hello from version two")')
    click_empty_canvas(page)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Saved as version 2.")).to_be_visible()

    # The body changed and saved with the author's words.
    click_node(page, "job:step-1")
    type_in_editor(page, "#step-body-editor", 'log("hello from version three")')
    click_empty_canvas(page)
    page.get_by_role("button", name="Save with a message").click()
    page.get_by_label("Message for this version (optional)").fill("Greet from three")
    screenshot(page, "versions-0-save-message")
    page.get_by_role("button", name="Save with this message").click()
    expect(page.get_by_text("Saved as version 3.")).to_be_visible()
    expect(page.locator("#studio-save-menu")).to_be_hidden()  # the menu closed on Save
    expect(page.get_by_label("Message for this version (optional)")).to_have_value("")
    expect(page.locator("#studio-dirty")).to_be_hidden()

    # Enter in the message field saves too (then the History has one version more).
    click_node(page, "job:step-1")
    page.get_by_label("Name", exact=True).fill("Greet everyone")
    click_empty_canvas(page)
    page.get_by_role("button", name="Save with a message").click()
    page.get_by_label("Message for this version (optional)").fill("Renamed")
    page.get_by_label("Message for this version (optional)").press("Enter")
    expect(page.get_by_text("Saved as version 4.")).to_be_visible()
    expect(page.locator("#studio-save-menu")).to_be_hidden()

    # The History lists it first, with its message, author and the current marker.
    page.get_by_role("tab", name="History").click()
    newest = page.locator("#versions-list [data-version]").first
    expect(newest).to_have_attribute("data-version", "4")
    expect(newest).to_contain_text("Renamed")
    expect(newest).to_contain_text("current")
    expect(page.locator("#versions-list [data-version]")).to_have_count(4)
    body_change = page.locator('#versions-list [data-version="3"]')
    expect(body_change).to_contain_text("Greet from three")
    screenshot(page, "versions-1-history-panel")

    # Compared with the version before: the step is marked on the canvas, the line diffed.
    body_change.get_by_role("link", name="Compare with version 2").click()
    expect(page.locator("#version-title")).to_have_text("Version 2 → version 3")
    page.wait_for_function("() => window.ferryVersion !== undefined")
    assert mark_of(page, "job:step-1") == "changed"
    assert mark_of(page, "trigger:webhook") == ""
    label = page.evaluate(
        "() => window.ferryVersion.graph.cy.getElementById('job:step-1').data('label')"
    )
    assert label.startswith("~ changed")
    body = page.locator('[data-change-path="jobs.step-1.body"]')
    expect(body).to_contain_text("~ changed")
    expect(body.locator("[data-diff]")).to_contain_text('+log("hello from version three")')
    expect(body.locator("[data-diff]")).to_contain_text('-log("hello from version two")')
    screenshot(page, "versions-2-comparison")

    # Version 2 read-only, then restored (after confirming) as a new version 5.
    page.get_by_role("link", name="version 2", exact=True).click()
    expect(page.locator("#version-banner")).to_contain_text("Version 2 of 4, read-only")
    page.wait_for_function("() => window.ferryVersion !== undefined")
    page.evaluate("() => window.ferryVersion.graph.select('job:step-1')")
    expect(page.locator("#version-body")).to_have_text('log("hello from version two")')
    screenshot(page, "versions-3-read-only")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Restore version 2").click()
    expect(page.get_by_text("Restored version 2 as version 5.")).to_be_visible()
    expect(page.locator("#studio-version")).to_have_text("v5")
    page.wait_for_load_state("load")

    # The History says where version 5 came from.
    page.get_by_role("tab", name="History").click()
    restored = page.locator("#versions-list [data-version]").first
    expect(restored).to_have_attribute("data-version", "5")
    expect(restored).to_contain_text("restored from version 2")
    # An open History re-reads itself after a save.
    page.keyboard.press("Control+s")
    expect(page.get_by_text("Saved as version 6.")).to_be_visible()
    expect(page.locator("#versions-list [data-version]").first).to_have_attribute(
        "data-version", "6"
    )

    # A run now uses the restored body.
    page.get_by_role("tab", name="Run").click()
    page.get_by_role("button", name="Run", exact=True).click()
    status = page.locator("#run-status")
    expect(status).to_have_attribute("data-run-state", "success", timeout=30_000)
    click_node(page, "job:step-1")
    page.locator("label[for=step-tab-logs]").click()
    expect(page.locator("#step-tab")).to_contain_text("hello from version two")
    expect(page.locator("#step-tab")).not_to_contain_text("hello from version three")

    # The run's page links back to the version that ran.
    page.get_by_role("tab", name="Run").click()
    status.get_by_role("link", name="Open in History").click()
    page.get_by_role("link", name="version 6").click()
    expect(page.locator("#version-banner")).to_contain_text("Version 6 of 6, read-only")


THREE_STEPS = """
name: {name}
triggers:
  webhook:
    type: webhook
jobs:
  fetch:
    name: Fetch cases
    adaptor: common@1
    body: "fn(lambda state: state)"
  shape:
    name: Shape cases
    adaptor: common@1
    body: "fn(lambda state: state)"
  load:
    name: Load cases
    adaptor: common@1
    body: "fn(lambda state: state)"
edges:
  webhook->fetch: {{source_trigger: webhook, target_job: fetch}}
  fetch->shape: {{source_job: fetch, target_job: shape}}
  shape->load: {{source_job: shape, target_job: load}}
"""


def _a_step_removed_and_one_added() -> tuple[str, str]:
    """A workflow whose version 2 drops "Load cases" and adds "Notify" after "Shape cases"."""
    from app.models import Project
    from app.services.workflows import export, store

    project = db.session.query(Project).filter_by(name="Demo project").one()
    flow = store.create_workflow(
        project.id, THREE_STEPS.format(name=f"Marks {uuid.uuid4().hex[:6]}")
    )
    document = export.export_document(store.get_workflow(flow.id))
    del document["jobs"]["load"], document["edges"]["shape->load"]
    document["jobs"]["notify"] = {"name": "Notify", "adaptor": "common@1", "body": "log('done')"}
    document["edges"]["shape->notify"] = {"source_job": "shape", "target_job": "notify"}
    document["jobs"]["shape"]["adaptor"] = "http@1"
    store.replace_workflow(flow.id, document, message="Notify instead of loading")
    return str(project.id), str(flow.id)


def test_a_comparison_draws_removed_steps_greyed_and_names_each_change(page: Page):
    sign_in(page)
    project_id, workflow_id = with_live_data(_a_step_removed_and_one_added)
    page.goto(f"/projects/{project_id}/workflows/{workflow_id}/versions/2/compare")
    page.wait_for_function("() => window.ferryVersion !== undefined")
    marks = {
        "job:load": "removed",
        "edge:shape->load": "removed",
        "job:notify": "added",
        "edge:shape->notify": "added",
        "job:shape": "changed",
        "job:fetch": "",
    }
    assert {element: mark_of(page, element) for element in marks} == marks
    style = page.evaluate(
        "() => window.ferryVersion.graph.cy.getElementById('job:load').style('border-style')"
    )
    assert style == "dashed"
    changes = page.locator("#compare-changes")
    expect(changes.locator('[data-change-path="jobs.load"]')).to_contain_text(
        "Step “Load cases” removed"
    )
    expect(changes.locator('[data-change-path="jobs.shape.adaptor"]')).to_contain_text(
        "common@1 → http@1"
    )
    screenshot(page, "versions-4-comparison-removed-added")
