"""The Studio fills the 1280x800 window exactly: a long form in the side panel (the request
builder with many body fields and the egress warning) scrolls inside the panel and never
makes the page itself taller than the window."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import User
from app.services import projects
from app.services.demo import DEMO_EMAIL
from app.services.workflows import store
from tests.browser.conftest import ARTIFACTS
from tests.browser.studio_helpers import click_node, sign_in, with_live_data

WORKFLOW = """
name: Long form
triggers:
  webhook:
    type: webhook
    enabled: true
jobs:
  send:
    name: Send to registry
    adaptor: http@1
    body: |
      fn(lambda state: state)
edges:
  webhook->send:
    source_trigger: webhook
    target_job: send
    condition_type: always
"""
# How tall the page is against the window: the document and what the side panel holds.
MEASURE = """() => {
    const side = document.querySelector('.studio-side');
    return {document: document.documentElement.scrollHeight, window: innerHeight,
            pageScroll: scrollY, sideScroll: side.scrollTop,
            sideContent: side.scrollHeight, sideBox: side.clientHeight};
}"""


def layout_project() -> dict[str, str]:
    """A project of the demo user (no egress allowlist) with one http step."""

    def change():
        owner = db.session.query(User).filter_by(email=DEMO_EMAIL).one()
        project = projects.create_project(owner, "Layout check")
        db.session.commit()
        workflow = store.create_workflow(project.id, WORKFLOW)
        return {"project": str(project.id), "workflow": str(workflow.id)}

    return with_live_data(change)


def test_a_long_request_builder_scrolls_inside_the_side_panel(page: Page, live_server: str):
    ids = layout_project()
    sign_in(page)
    page.goto(f"/projects/{ids['project']}/workflows/{ids['workflow']}")
    click_node(page, "job:send")
    page.locator("#rb-operation").select_option("post")
    page.get_by_role("button", name="Open form").click()
    form = page.locator("#rb-op-form")
    form.get_by_label("Path or URL", exact=True).fill("http://127.0.0.1:9/records")
    expect(page.locator("#rb-egress")).to_contain_text("not allowed in this project")
    body = form.locator("[data-param=body]")
    for _ in range(5):  # six body fields: the form is far taller than the window
        body.get_by_role("button", name="Add field").click()
    expect(body.get_by_label("Body name")).to_have_count(6)

    before = page.evaluate(MEASURE)
    assert before["sideContent"] > before["sideBox"] + 400, before  # really a long form
    assert before["document"] <= before["window"] + 1, before  # the page fits the window

    # The wheel over the panel scrolls the panel, not the page, down to the form's end.
    insert = form.get_by_role("button", name="Insert into body")
    box = page.locator(".studio-side").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(6):
        page.mouse.wheel(0, 800)
    expect(insert).to_be_in_viewport()
    after = page.evaluate(MEASURE)
    assert after["sideScroll"] > 400, after
    assert after["pageScroll"] == 0, after
    assert after["document"] <= after["window"] + 1, after
    assert insert.bounding_box()["y"] + insert.bounding_box()["height"] <= after["window"]
    page.screenshot(path=str(ARTIFACTS / "studio-layout-long-form-scrolled.png"))

    # Back at the top, the step's first fields and the panel's tabs show again.
    page.mouse.wheel(0, -10_000)
    expect(page.get_by_label("Name", exact=True)).to_be_in_viewport()
    expect(page.get_by_role("tab", name="Run")).to_be_in_viewport()
    top = page.evaluate(MEASURE)
    assert (top["sideScroll"], top["pageScroll"]) == (0, 0), top

    # Bringing the egress warning into view (as the egress journey does) moves the panel only.
    warning = page.locator("#rb-egress")
    warning.scroll_into_view_if_needed()
    expect(warning).to_be_in_viewport()
    shown = page.evaluate(MEASURE)
    assert shown["sideScroll"] > 0 and shown["pageScroll"] == 0, shown
    assert shown["document"] <= shown["window"] + 1, shown
    page.screenshot(path=str(ARTIFACTS / "studio-layout-egress-warning.png"))
