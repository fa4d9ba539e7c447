"""Journey: an editor creates a collection, browses another one page by page, searches it by
key pattern, reads a value as indented JSON, removes an entry, and deletes a collection by
typing its name; a viewer sees the same entries without the buttons that change them."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from app.models import Role
from app.services import accounts, projects
from app.services.collections import items, store
from tests import factories
from tests.browser.conftest import screenshot
from tests.browser.studio_helpers import sign_in, with_live_data

EDITOR = ("eda@collections.example.org", "editor quartz harbour 27")
VIEWER = ("vic@collections.example.org", "viewer maple signal 53")


def _set_up() -> str:
    """A project with "patients-seen" holding 150 entries; its id."""
    editor = accounts.create_user(*EDITOR, name="Eda Editor")
    viewer = accounts.create_user(*VIEWER, name="Vic Viewer")
    project = projects.create_project(editor, "Collections journey")
    factories.member(project, viewer, Role.VIEWER)
    store.create_collection(project.id, "patients-seen")
    batch = [
        {"key": f"p-{i:03}", "value": {"id": f"p-{i:03}", "name": f"Patient {i}", "visits": [i]}}
        for i in range(150)
    ]
    items.set_items(project.id, "patients-seen", batch)
    return str(project.id)


def test_browse_search_view_remove_and_delete(page: Page, browser):
    project_id = with_live_data(_set_up)
    sign_in(page, *EDITOR)
    page.goto(f"/projects/{project_id}/collections")
    expect(page.get_by_role("link", name="Collections", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    row = page.get_by_role("row").filter(has_text="patients-seen")
    expect(row).to_contain_text("150")
    screenshot(page, "collections-list")

    # A bad name is refused next to the field, keeping what was typed.
    page.get_by_role("button", name="Create collection").first.click()
    page.get_by_label("Name").fill("has space")
    page.locator("#create-collection").get_by_role("button", name="Create collection").click()
    expect(page.get_by_text("may hold only letters, digits")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("has space")
    page.get_by_label("Name").fill("visits")
    page.locator("#create-collection").get_by_role("button", name="Create collection").click()
    expect(page.get_by_role("heading", name="visits")).to_be_visible()
    expect(page.get_by_text("This collection is empty")).to_be_visible()
    screenshot(page, "collections-empty")

    # Browse page by page, then search by pattern.
    page.goto(f"/projects/{project_id}/collections/patients-seen")
    expect(page.get_by_role("link", name="p-000")).to_be_visible()
    page.get_by_role("link", name="Next page").click()
    expect(page.get_by_role("link", name="p-100")).to_be_visible()
    expect(page.get_by_role("link", name="Next page")).to_have_count(0)
    page.get_by_label("Search keys").fill("p-12*")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("tbody tr")).to_have_count(10)
    screenshot(page, "collections-browse")
    page.set_viewport_size({"width": 768, "height": 800})  # the sidebar collapses
    expect(page.get_by_role("button", name="Search")).to_be_in_viewport()
    screenshot(page, "collections-browse-768")
    page.set_viewport_size({"width": 1280, "height": 800})

    # A value as indented JSON; removing the entry asks first.
    page.get_by_role("link", name="p-123").click()
    expect(page.locator("pre")).to_contain_text('"name": "Patient 123"')
    screenshot(page, "collections-entry")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove entry").click()
    expect(page.get_by_text("Entry “p-123” removed.")).to_be_visible()

    # Deleting asks for the name to be typed.
    page.get_by_role("link", name="Delete collection").click()
    expect(page.get_by_text("Its 149 entries are deleted with it")).to_be_visible()
    page.get_by_label("Type the collection's name to confirm").fill("patients")
    page.get_by_role("button", name="Delete collection").click()
    expect(page.get_by_text("Type the collection's name, patients-seen")).to_be_visible()
    screenshot(page, "collections-delete")
    page.get_by_label("Type the collection's name to confirm").fill("patients-seen")
    page.get_by_role("button", name="Delete collection").click()
    expect(
        page.get_by_text("Collection “patients-seen” deleted with its 149 entries.")
    ).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="visits")).to_be_visible()

    # A viewer reads but gets no buttons that change anything.
    viewer_page = browser.new_context(
        base_url=page.url.split("/projects")[0], viewport={"width": 1280, "height": 800}
    ).new_page()
    sign_in(viewer_page, *VIEWER)
    viewer_page.goto(f"/projects/{project_id}/collections/visits")
    expect(viewer_page.get_by_text("This collection is empty")).to_be_visible()
    expect(viewer_page.get_by_role("link", name="Delete collection")).to_have_count(0)
    viewer_page.context.close()
