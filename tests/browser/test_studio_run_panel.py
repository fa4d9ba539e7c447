"""Running from the Studio: the run's status arrives as an htmx fragment that re-reads itself
until the run is final, and the canvas paints each step in the colour of its state's badge."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.studio_helpers import (
    badge_colour,
    click_empty_canvas,
    click_node,
    node_border,
    node_state,
    sign_in,
    type_in_editor,
)
from tests.browser.test_studio import open_new_workflow


def test_a_run_shows_its_state_from_the_fragment_and_recolours_the_canvas(page: Page):
    sign_in(page)
    open_new_workflow(page, "Run panel check")
    page.get_by_role("button", name="Add trigger").click()
    page.get_by_role("button", name="Webhook").click()
    click_node(page, "trigger:webhook")
    page.locator("#studio-plus").click()
    page.get_by_label("Name", exact=True).fill("Count records")
    page.get_by_label("Adaptor", exact=True).select_option("common")
    type_in_editor(page, "#step-body-editor", 'log("counting")')
    click_node(page, "job:step-1")
    page.locator("#studio-plus").click()
    page.get_by_label("Name", exact=True).fill("Divide by zero")
    page.get_by_label("Adaptor", exact=True).select_option("common")
    type_in_editor(page, "#step-body-editor", "fn(lambda state: 1 / 0)")
    click_empty_canvas(page)

    # Unsaved: Run saves first, then starts the run of the saved version.
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.get_by_text("Saved as version 2.")).to_be_visible()
    status = page.locator("#run-status")
    expect(status).to_have_attribute("data-run-state", "failed", timeout=30_000)
    expect(status).not_to_have_attribute("hx-trigger", "every 1s")  # it stopped re-reading
    expect(status.locator("[data-step-state]")).to_have_count(2)
    expect(status.get_by_text("Divide by zero", exact=True)).to_be_visible()
    # The failed step's error reads as a sentence naming the step.
    expect(status.locator("[data-error-sentence]")).to_contain_text("Step “Divide by zero”")
    expect(page.get_by_text("The run finished: failed.")).to_be_visible()
    expect(status.get_by_role("link", name="Open in History")).to_be_visible()

    # The canvas paints each step in its badge's colour, with the state's word.
    assert node_state(page, "job:step-1") == "success"
    assert node_state(page, "job:step-2") == "failed"
    assert node_border(page, "job:step-1") == badge_colour(page, "success")
    assert node_border(page, "job:step-2") == badge_colour(page, "failed")
    label = page.evaluate(
        "() => window.ferryStudio.graph.cy.getElementById('job:step-2').data('label')"
    )
    assert label.endswith("✗ failed")

    # The failed step's logs and error, from the step tab.
    click_node(page, "job:step-2")
    expect(page.locator("#step-tab")).to_contain_text("ZeroDivisionError")
    page.locator("label[for=step-tab-logs]").click()
    expect(page.locator("[data-log-level]")).to_be_visible()
    screenshot(page, "studio-12-run-failed")

    # Fixed and saved, then run at once: the run waits for the save instead of refusing.
    page.get_by_role("tab", name="Edit").click()
    type_in_editor(page, "#step-body-editor", "fn(lambda state: state)")
    click_empty_canvas(page)
    page.keyboard.press("Control+s")
    page.keyboard.press("Control+Enter")
    expect(status).to_have_attribute("data-run-state", "success", timeout=30_000)
    expect(page.locator("#run-start-error")).to_be_empty()
    assert node_state(page, "job:step-2") == "success"

    # A typed input kept as a named test input, then offered under "Saved or recent".
    page.get_by_text("Saved or recent", exact=True).click()
    expect(page.locator("#run-dataclip")).to_be_visible()
    page.get_by_text("Custom JSON").click()
    type_in_editor(page, "#run-input-editor", '{"data": {"n": 1}}')
    page.get_by_text("Save this input as a test case").click()
    page.get_by_role("button", name="Save input").click()
    expect(page.locator("#save-input-message")).to_have_text("Give the test input a name.")
    page.get_by_label("Test input name").fill("One record")
    page.get_by_role("button", name="Save input").click()
    expect(page.locator("#save-input-message")).to_contain_text("Saved “One record”")
    page.get_by_text("Saved or recent", exact=True).click()
    expect(page.locator("#run-dataclip option:checked")).to_have_text("One record")
    expect(page.locator("#run-dataclip-preview")).to_contain_text('"n": 1')
