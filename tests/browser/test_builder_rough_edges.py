"""The builder's rough edges a first-time analyst met (issue 15), at 1280x800 and 1920x1080:
the page itself never scrolls (only the side panel), the toolbar's menus open above the side
panel with their labels whole, the toolbar keeps its height when "Unsaved changes" appears,
a new step stays calm until the user leaves a field or tries to save, and the webhook URL
is offered with a copy button once saved (in the save message and on the workflow list)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import User
from app.services import projects
from app.services.demo import DEMO_EMAIL
from app.services.workflows import store
from tests.browser.studio_helpers import click_node, sign_in, with_live_data
from tests.browser.test_studio_layout import WORKFLOW

SHOTS = "/tmp/ferry/shots/D"
SIZES = [(1280, 800), (1920, 1080)]
# A real programme's name: long enough to wrap the top bar at 1280 px.
LONG_PROJECT = (
    "Programme de surveillance des maladies à déclaration obligatoire et de riposte, "
    "région du Centre-Nord"
)
PAGE_HEIGHTS = """() => {
    const page = document.scrollingElement;
    const studio = document.getElementById('studio').getBoundingClientRect();
    return {content: page.scrollHeight, window: page.clientHeight, width: page.scrollWidth,
            windowWidth: page.clientWidth, scrolled: scrollY,
            studioBottom: studio.bottom, studioHeight: studio.height};
}"""


def make_project(name: str, document: str = WORKFLOW) -> dict[str, str]:
    """A project of the demo user holding one workflow made from `document`."""

    def change():
        owner = db.session.query(User).filter_by(email=DEMO_EMAIL).one()
        project = projects.create_project(owner, name)
        db.session.commit()
        workflow = store.create_workflow(project.id, document)
        return {"project": str(project.id), "workflow": str(workflow.id)}

    return with_live_data(change)


def builder_url(ids: dict[str, str]) -> str:
    return f"/projects/{ids['project']}/workflows/{ids['workflow']}"


def shot(page: Page, name: str) -> None:
    """A screenshot of the window for people to look at."""
    size = page.viewport_size
    page.screenshot(path=f"{SHOTS}/{name}-{size['width']}.png")


def queue_flash(page: Page, ids: dict[str, str]) -> None:
    """Leave a message waiting for the next page (switching the workflow on without htmx
    answers with a redirect and a flash), so the builder opens below a message."""
    token = page.evaluate(
        "() => JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']"
    )
    reply = page.request.post(
        f"{builder_url(ids)}/enabled",
        form={"csrf_token": token, "enabled": "true"},
        max_redirects=0,
    )
    assert reply.status == 302


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_only_the_side_panel_scrolls_whatever_stands_above_the_builder(
    page: Page, live_server: str, width: int, height: int
):
    ids = make_project(LONG_PROJECT)
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page)
    page.goto(builder_url(ids))
    queue_flash(page, ids)
    page.goto(builder_url(ids))
    expect(page.get_by_role("alert").filter(has_text="Workflow switched on.")).to_be_visible()
    click_node(page, "job:send")
    page.locator("#rb-operation").select_option("post")
    page.get_by_role("button", name="Open form").click()
    expect(page.locator("#rb-op-form")).to_be_visible()

    measured = page.evaluate(PAGE_HEIGHTS)
    assert measured["content"] <= measured["window"], measured  # nothing below to scroll to
    assert measured["width"] <= measured["windowWidth"], measured
    assert measured["studioBottom"] <= measured["window"], measured
    # The wheel over the panel and a script's scroll both leave the page where it is.
    box = page.locator(".studio-side").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.wheel(0, 3000)
    page.evaluate("() => window.scrollTo(0, 100000)")
    after = page.evaluate(PAGE_HEIGHTS)
    assert after["scrolled"] == 0, after
    assert page.locator(".studio-side").evaluate("side => side.scrollTop") > 0
    shot(page, "only-panel-scrolls")

    # Closing the message gives its room back to the studio, still without a page scroll.
    page.get_by_role("alert").filter(has_text="Workflow switched on.").get_by_role(
        "button", name="Close"
    ).click()
    expect(page.get_by_text("Workflow switched on.")).to_have_count(0)
    closed = page.evaluate(PAGE_HEIGHTS)
    assert closed["content"] <= closed["window"], closed
    assert closed["studioHeight"] > measured["studioHeight"], (measured, closed)


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_add_trigger_menu_opens_above_the_side_panel_with_whole_labels(
    page: Page, live_server: str, width: int, height: int
):
    ids = make_project("Menus")
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page)
    page.goto(builder_url(ids))
    click_node(page, "job:send")  # the side panel shows a step: its tabs are drawn
    page.get_by_role("button", name="Add trigger").click()
    items = page.locator(".dropdown-menu.show .dropdown-item")
    expect(items).to_have_count(2)
    for item in items.all():
        box = item.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, box
        # The label is not cut: the item is as wide as its text...
        assert item.evaluate("el => el.scrollWidth <= el.clientWidth"), item.inner_text()
        # ...and nothing (the panel's tabs) covers any part of it.
        for x in (box["x"] + 4, box["x"] + box["width"] / 2, box["x"] + box["width"] - 4):
            covered = item.evaluate(
                "(el, [x, y]) => !el.contains(document.elementFromPoint(x, y))",
                [x, box["y"] + box["height"] / 2],
            )
            assert not covered, f"{item.inner_text()!r} is covered at x={x}"
    shot(page, "add-trigger-menu")
    page.get_by_role("button", name="Webhook (data is sent to Ferry)").click()
    expect(page.locator("#trigger-panel")).to_be_visible()


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_toolbar_keeps_its_height_when_unsaved_changes_appear(
    page: Page, live_server: str, width: int, height: int
):
    ids = make_project("Toolbar")
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page)
    page.goto(builder_url(ids))
    toolbar = page.locator("#studio-toolbar")
    tools = page.get_by_role("toolbar", name="Canvas tools")
    before = (toolbar.bounding_box(), tools.bounding_box())
    click_node(page, "job:send")
    page.get_by_label("Name", exact=True).fill("Send the records to the national registry")
    expect(page.locator("#studio-dirty")).to_be_visible()
    after = (toolbar.bounding_box(), tools.bounding_box())
    assert after[0]["height"] == before[0]["height"], (before, after)
    assert after[1]["y"] == before[1]["y"], (before, after)  # the tools stay on their row
    dirty = page.locator("#studio-dirty").bounding_box()
    assert dirty["y"] + dirty["height"] <= after[0]["y"] + after[0]["height"]
    # The workflow's name still shows, shortened if need be, never pushed to a second row.
    title = page.locator("#studio-title").bounding_box()
    assert abs(title["y"] - after[1]["y"]) < after[1]["height"], (title, after)
    shot(page, "toolbar-dirty")
