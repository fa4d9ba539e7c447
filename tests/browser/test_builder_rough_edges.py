"""The builder's rough edges a first-time analyst met (issue 15), at 1280x800 and 1920x1080:
the page itself never scrolls (only the side panel), the toolbar's menus open above the side
panel with their labels whole, the toolbar keeps its height when "Unsaved changes" appears,
a new step stays calm until the user leaves a field or tries to save, and the webhook URL
is offered with a copy button once saved (in the save message and on the workflow list)."""

from __future__ import annotations

import re

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


def node_marked(page: Page, node_id: str) -> bool:
    """Whether the canvas draws the node as having a problem (red dashed border)."""
    return page.evaluate(
        "id => window.ferryStudio.graph.cy.getElementById(id).hasClass('problem')", node_id
    )


def wait_for_checks(page: Page, text: str) -> None:
    """Wait until the live check has found a problem saying `text` (shown or not)."""
    page.wait_for_function(
        "text => window.ferryStudio.state.problems.some(p => p.message.includes(text))", arg=text
    )


ADAPTOR_ERROR = "This step needs an adaptor"


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_a_new_step_stays_calm_until_a_field_is_left_or_saving_is_tried(
    page: Page, live_server: str, width: int, height: int
):
    ids = make_project("Calm steps")
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page)
    page.goto(builder_url(ids))
    page.wait_for_load_state("load")
    click_node(page, "job:send")
    page.locator("#studio-plus").click()  # a new step after "Send to registry"
    expect(page.locator("#step-panel")).to_be_visible()
    new_step = page.evaluate("() => window.ferryStudio.graph.selectedId")
    wait_for_checks(page, ADAPTOR_ERROR)
    # Nothing red anywhere: not in the panel, not on the canvas, not in the problem list.
    expect(page.locator("#step-adaptor-error")).to_be_empty()
    expect(page.locator("#step-adaptor")).not_to_have_class(re.compile("is-invalid"))
    expect(page.locator("#studio-problems")).not_to_contain_text(ADAPTOR_ERROR)
    expect(page.locator("#studio-save-message")).to_be_empty()
    assert not node_marked(page, new_step)
    shot(page, "new-step-calm")

    # Leaving the name (filled in) says nothing about the adaptor; leaving the adaptor does.
    page.get_by_label("Name", exact=True).fill("Tell the registry")
    page.get_by_label("Adaptor", exact=True).focus()
    expect(page.locator("#step-adaptor-error")).to_be_empty()
    page.keyboard.press("Tab")
    expect(page.locator("#step-adaptor-error")).to_contain_text(ADAPTOR_ERROR)
    expect(page.locator("#step-adaptor-error")).to_be_visible()
    expect(page.locator("#step-adaptor")).to_have_class(re.compile("is-invalid"))
    expect(page.locator("#studio-problems")).to_contain_text(ADAPTOR_ERROR)
    assert node_marked(page, new_step)
    shot(page, "new-step-left-field")


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_saving_an_untouched_new_step_is_refused_with_the_errors_shown(
    page: Page, live_server: str, width: int, height: int
):
    ids = make_project("Refused save")
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page)
    page.goto(builder_url(ids))
    page.wait_for_load_state("load")
    click_node(page, "job:send")
    page.locator("#studio-plus").click()
    new_step = page.evaluate("() => window.ferryStudio.graph.selectedId")
    wait_for_checks(page, ADAPTOR_ERROR)
    page.locator("#studio-canvas").click(position={"x": 20, "y": 20})  # nothing selected
    expect(page.locator("#studio-problems")).not_to_contain_text(ADAPTOR_ERROR)

    page.get_by_role("button", name="Save", exact=True).click()
    message = page.locator("#studio-save-message").get_by_role("alert")
    expect(message).to_contain_text(f"Not saved: {ADAPTOR_ERROR}")
    expect(page.locator("#studio-version")).to_have_text("v1")
    expect(page.locator("#studio-dirty")).to_be_visible()
    # The step to fix is opened, the message stands next to its field, the node is marked.
    expect(page.locator("#step-panel")).to_be_visible()
    expect(page.locator("#step-adaptor-error")).to_contain_text(ADAPTOR_ERROR)
    expect(page.locator("#step-adaptor")).to_have_class(re.compile("is-invalid"))
    expect(page.locator("#studio-problems")).to_contain_text(ADAPTOR_ERROR)
    assert node_marked(page, new_step)
    shot(page, "save-refused")

    # Fixed, it saves; the refusal gives way to the saved message.
    page.get_by_label("Adaptor", exact=True).select_option("common")
    expect(page.locator("#step-adaptor-error")).to_be_empty()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("Saved as version 2.")).to_be_visible()
    expect(message).to_have_count(0)
    assert not node_marked(page, new_step)


def copies(page: Page, button, url: str) -> None:
    """The copy button puts `url` on the clipboard."""
    button.click()
    expect(button).to_contain_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == url


def falls_back_to_selecting(page: Page, button, field) -> None:
    """Where the clipboard is refused, the URL ends up selected for Ctrl+C (or copied the
    old way), and the button says which."""
    page.evaluate(
        "() => { navigator.clipboard.writeText = () => Promise.reject(new Error('denied')); }"
    )
    button.click()
    expect(button).to_contain_text(re.compile("Copied|Press Ctrl\\+C"))
    expect(field).to_be_focused()
    selected = field.evaluate("el => [el.selectionStart, el.selectionEnd, el.value.length]")
    assert selected[0] == 0 and selected[1] == selected[2], selected


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_webhook_url_is_offered_with_a_copy_button_once_saved(
    page: Page, live_server: str, width: int, height: int
):
    ids = make_project("Webhook URL")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.set_viewport_size({"width": width, "height": height})
    sign_in(page)
    page.goto(builder_url(ids))
    page.wait_for_load_state("load")
    click_node(page, "job:send")
    page.get_by_label("Name", exact=True).fill("Send to the registry")
    page.get_by_role("button", name="Save", exact=True).click()
    saved = page.locator("#studio-save-message").get_by_role("status")
    expect(saved).to_contain_text("Saved as version 2.")
    field = saved.get_by_label("Webhook URL", exact=True)
    expect(field).to_have_value(re.compile(r"^http://127\.0\.0\.1:\d+/i/[0-9a-f-]{36}$"))
    url = field.input_value()
    click_node(page, "trigger:webhook")
    assert page.locator("#webhook-url").input_value() == url  # the trigger's own URL
    box = saved.bounding_box()  # whole, over the canvas, below the toolbar
    canvas = page.locator("#studio-canvas").bounding_box()
    assert box["y"] >= canvas["y"] and box["x"] + box["width"] <= canvas["x"] + canvas["width"]
    shot(page, "saved-webhook-url")
    copy = saved.get_by_role("button", name="Copy the webhook URL")
    copies(page, copy, url)
    falls_back_to_selecting(page, copy, field)

    # An edit makes the message stale: it goes; the URL stays in the trigger's panel.
    page.get_by_label("Enabled: starts runs when it fires").uncheck()
    expect(saved).to_have_count(0)

    # The workflow list shows it too, with its own copy button.
    page.goto(f"/projects/{ids['project']}/workflows")
    row = page.get_by_role("row", name=re.compile("Long form"))
    listed = row.get_by_label("Webhook URL of Long form", exact=True)
    expect(listed).to_have_value(url)
    shot(page, "list-webhook-url")
    listed_copy = row.get_by_role("button", name="Copy the webhook URL of Long form")
    copies(page, listed_copy, url)
    falls_back_to_selecting(page, listed_copy, listed)


def test_the_yaml_modal_says_why_an_import_was_refused_next_to_the_field(
    page: Page, live_server: str
):
    ids = make_project("YAML refusals")
    sign_in(page)
    page.goto(builder_url(ids))
    page.wait_for_load_state("load")
    page.get_by_role("button", name="YAML").click()
    modal = page.locator("#yaml-modal")
    field = modal.get_by_label("Workflow YAML")
    send = modal.get_by_role("button", name="Import workflow")
    message = modal.locator("#import-form [role=alert]")

    # A NUL character is refused at the door (400, an error page): its message shows under
    # the field, and the form and what was pasted stay.
    field.fill("name: Patients\x00")
    send.click()
    expect(message).to_contain_text("contains a NUL character")
    expect(field).to_have_value("name: Patients\x00")
    expect(field).to_have_class(re.compile("is-invalid"))
    expect(modal.locator("main, .display-5")).to_have_count(0)  # no error page inside
    shot(page, "yaml-modal-nul")

    # An expired form (stale CSRF token) says so in the same place.
    modal.locator("#import-form [name=csrf_token]").evaluate("input => { input.value = 'x'; }")
    field.fill("name: Patients")
    send.click()
    expect(message).to_contain_text("security token")
    expect(field).to_have_value("name: Patients")

    # The document's own problems (422) come back in the form, next to the field.
    page.reload()
    page.wait_for_load_state("load")
    page.get_by_role("button", name="YAML").click()
    field.fill("jobs: {}")
    send.click()
    expect(modal.locator("#import-form .invalid-feedback")).to_contain_text(
        "The workflow needs a name."
    )
    shot(page, "yaml-modal-422")
