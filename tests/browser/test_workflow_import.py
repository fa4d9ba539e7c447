"""Importing YAML on "Create workflow": a refused document shows its problem next to the
field, naming the path to fix, and keeps what was typed (htmx swaps the 422 answer)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.studio_helpers import sign_in

BAD_YAML = "name: Broken import\njobs:\n  load:\n    adaptor: nonsense@9\n"


def open_create_workflow(page: Page) -> None:
    page.get_by_role("link", name="Demo project").click()
    page.get_by_role("navigation", name="Project").get_by_role("link", name="Workflows").click()
    page.get_by_role("link", name="Create workflow").first.click()
    expect(page.get_by_role("heading", name="Create workflow")).to_be_visible()
    page.wait_for_load_state("load")


def test_a_refused_import_shows_the_field_to_fix_and_keeps_the_yaml(page: Page):
    sign_in(page)
    open_create_workflow(page)
    page.get_by_label("Workflow YAML").fill(BAD_YAML)
    page.get_by_role("button", name="Import workflow").click()
    message = page.locator("#import-form [role=alert]")
    expect(message.first).to_contain_text("jobs.load.adaptor")
    expect(page.get_by_label("Workflow YAML")).to_have_value(BAD_YAML)
    expect(page.get_by_label("Workflow YAML")).to_have_class(re.compile(r"\bis-invalid\b"))
    screenshot(page, "workflow-import-error")

    # Fixing the document imports it and opens the builder.
    page.get_by_label("Workflow YAML").fill(BAD_YAML.replace("nonsense@9", "common@1"))
    page.get_by_role("button", name="Import workflow").click()
    expect(page.locator("#studio-title")).to_have_text("Broken import")
