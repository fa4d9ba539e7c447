"""Importing an OpenFn Lightning project.yaml in Chromium: upload the file from the projects
list, read the preview (what will be created, what is left to port), create the project and
land on its workflows with the jobs to port listed."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.studio_helpers import sign_in
from tests.services.project_code.lightning_sample import LIGHTNING_PROJECT

DOCUMENT = LIGHTNING_PROJECT.replace("name: Clinic referrals", "name: Referrals from OpenFn", 1)


def test_upload_preview_and_create_an_openfn_project(page: Page, tmp_path):
    upload = tmp_path / "project.yaml"
    upload.write_text(DOCUMENT)
    sign_in(page)
    page.get_by_role("link", name="Import from OpenFn").click()
    expect(page.get_by_role("heading", name="Import an OpenFn project")).to_be_visible()

    # A broken paste is refused with its path, and nothing else happens.
    page.get_by_label("Lightning project.yaml").fill("name: Nothing here\n")
    page.get_by_role("button", name="Preview import").click()
    expect(page.locator("#openfn-problems")).to_contain_text("workflows")
    expect(page.get_by_role("button", name="Create project")).to_have_count(0)

    page.get_by_label("Lightning project.yaml").fill("")
    page.get_by_label("Or upload the file").set_input_files(str(upload))
    page.get_by_role("button", name="Preview import").click()
    preview = page.locator("#openfn-preview")
    expect(preview).to_contain_text("Referrals from OpenFn")
    expect(preview).to_contain_text("Referral intake")
    expect(preview).to_contain_text("cron 0 2 * * *, off")
    expect(page.locator("#openfn-notes")).to_contain_text("Jobs to port from JavaScript (4)")
    expect(page.locator("#openfn-notes")).to_contain_text("Credentials to create and share (2)")
    expect(page.get_by_label("Lightning project.yaml")).to_have_value(DOCUMENT)
    screenshot(page, "openfn-import-preview")

    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("alert").first).to_contain_text("4 job(s) to port from JavaScript")
    expect(page.get_by_role("link", name="Referral intake")).to_be_visible()
    expect(page.get_by_role("link", name="Nightly summary")).to_be_visible()
    screenshot(page, "openfn-import-created")
