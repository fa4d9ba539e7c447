"""Journeys through the Studio as an analyst would take them: build a workflow on the canvas
by mouse, configure an http.post with the request builder, save, run it from the builder,
send a real webhook; a viewer's read-only canvas; and clear messages for bad input."""

from __future__ import annotations

import re
import time
from urllib.parse import urlparse

import httpx
from playwright.sync_api import Page, expect

from app.models import Role
from tests.browser.conftest import screenshot
from tests.browser.servers_studio import RecordingServer
from tests.browser.studio_helpers import (
    add_member,
    allow_loopback,
    click_empty_canvas,
    click_node,
    drag_connect,
    node_state,
    sign_in,
    type_in_editor,
)

RECORDS = '{"data": [{"name": "Ada", "age": 36}, {"name": "Grace", "age": 45}]}'


def open_new_workflow(page: Page, name: str) -> None:
    page.get_by_role("link", name="Demo project").click()
    page.get_by_role("navigation", name="Project").get_by_role("link", name="Workflows").click()
    expect(page.get_by_role("heading", name="Workflows")).to_be_visible()
    page.get_by_role("link", name="Create workflow").first.click()
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Create workflow").click()
    expect(page.locator("#studio-title")).to_have_text(name)
    # The toolbar's menus work once the deferred scripts ran (the load event); a click
    # before that, on a busy machine, opens nothing.
    page.wait_for_load_state("load")


def build_graph(page: Page) -> None:
    """A webhook trigger and two steps, added and connected by mouse."""
    page.get_by_role("button", name="Add trigger").click()
    page.get_by_role("button", name="Webhook").click()
    click_node(page, "trigger:webhook")
    page.locator("#studio-plus").click()  # a step after the trigger, connected to it
    page.get_by_label("Name", exact=True).fill("Shape records")
    page.get_by_label("Adaptor", exact=True).select_option("common")
    type_in_editor(page, "#step-body-editor", "fn(lambda state: state)")
    click_empty_canvas(page)
    page.get_by_role("button", name="Add step").click()  # a second, unconnected step
    page.get_by_label("Name", exact=True).fill("Send to records API")
    drag_connect(page, "job:step-1", "job:step-2")
    expect(page.locator("#edge-panel")).to_be_visible()
    expect(page.locator("#edge-condition")).to_have_value("on_job_success")


def finish_second_step(page: Page) -> None:
    click_node(page, "job:step-2")
    page.get_by_label("Adaptor", exact=True).select_option("common")
    type_in_editor(page, "#step-body-editor", 'log("hello")')


def test_build_save_run_and_receive_a_webhook(page: Page, live_server: str):
    allow_loopback()
    with RecordingServer() as target:
        sign_in(page)
        open_new_workflow(page, "Patient intake")
        screenshot(page, "studio-1-new-workflow")
        build_graph(page)
        expect(page.locator("#studio-dirty")).to_be_visible()
        screenshot(page, "studio-2-graph-connected")
        # Leaving with unsaved changes asks first; staying keeps the work.
        dialogs: list[str] = []
        page.once("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.dismiss()))
        page.get_by_role("navigation", name="breadcrumb").get_by_role(
            "link", name="Workflows"
        ).click()
        page.wait_for_timeout(300)
        assert dialogs == ["beforeunload"]
        expect(page.locator("#studio-title")).to_have_text("Patient intake")

        # The request builder writes the http.post line.
        click_node(page, "job:step-2")
        page.get_by_label("Adaptor", exact=True).select_option("http")
        page.locator("#rb-operation").select_option("post")
        page.get_by_role("button", name="Open form").click()
        form = page.locator("#rb-op-form")
        form.get_by_label("Path or URL", exact=True).fill(f"{target.url}/records")
        body = form.locator("[data-param=body]")
        body.get_by_label("Body name").first.fill("name")
        body.get_by_label("Body kind of value").first.select_option("input")
        body.get_by_label("Body value").first.fill("data.name")
        body.get_by_role("button", name="Add field").click()
        body.get_by_label("Body name").nth(1).fill("source")
        body.get_by_label("Body value").nth(1).fill("ferry")
        form.get_by_label("Repeat for each record in").fill("data")
        screenshot(page, "studio-3-request-builder")
        form.get_by_role("button", name="Insert into body").click()
        expect(page.locator("#step-body-editor")).to_contain_text("S.data.name")
        # Too long for one line: laid out one argument per line, as ruff would.
        assert page.evaluate("() => window.ace.edit('step-body-editor').getValue()") == (
            "each(\n"
            "    S.data,\n"
            "    post(\n"
            f'        "{target.url}/records",\n'
            '        body={"name": S.data.name, "source": "ferry"},\n'
            "    ),\n"
            ")"
        )

        page.keyboard.press("Control+s")
        expect(page.get_by_text("Saved as version 2.")).to_be_visible()
        expect(page.locator("#studio-dirty")).to_be_hidden()
        page.get_by_role("button", name="YAML").click()
        expect(page.locator("#yaml-export pre")).to_contain_text("step-1->step-2:")
        expect(page.locator("#yaml-export pre")).to_be_visible()
        page.wait_for_timeout(400)  # let the modal finish fading in for the screenshot
        screenshot(page, "studio-3b-yaml-export")
        page.locator("#yaml-modal").get_by_role("button", name="Close").click()

        # Run from the builder with custom input: both steps turn green.
        page.get_by_role("tab", name="Run").click()
        page.get_by_text("Custom JSON").click()
        type_in_editor(page, "#run-input-editor", RECORDS)
        page.locator("#studio-canvas").click(position={"x": 20, "y": 20})
        page.keyboard.press("Control+Enter")
        expect(page.locator("#run-status")).to_have_attribute(
            "data-run-state", "success", timeout=30_000
        )
        assert node_state(page, "job:step-1") == "success"
        assert node_state(page, "job:step-2") == "success"
        click_node(page, "job:step-2")
        expect(page.locator("[data-json-tab=output]")).to_contain_text('"status": 201')
        screenshot(page, "studio-4-run-succeeded")
        assert [r["body"] for r in target.received] == [
            {"name": "Ada", "source": "ferry"},
            {"name": "Grace", "source": "ferry"},
        ]
        page.locator("label[for=step-tab-logs]").click()
        expect(page.locator("[data-log-level]")).to_be_visible()

        # A real webhook: the new run shows up for the workflow.
        click_node(page, "trigger:webhook")
        hook = page.locator("#webhook-url").input_value()
        reply = httpx.post(live_server + urlparse(hook).path, json=[{"name": "Linus"}], timeout=10)
        assert reply.status_code == 200, reply.text
        screenshot(page, "studio-5-webhook-url")
        deadline = time.monotonic() + 30
        while {"name": "Linus", "source": "ferry"} not in [r["body"] for r in target.received]:
            assert time.monotonic() < deadline, "the webhook's run did not reach the target"
            time.sleep(0.3)
        page.get_by_role("navigation", name="Project").get_by_role("link", name="Workflows").click()
        row = page.get_by_role("row", name=re.compile("Patient intake"))
        expect(row.locator("[data-state]")).to_have_attribute("data-state", "success")
        expect(row.get_by_role("cell").nth(4)).to_have_text("2")
        screenshot(page, "studio-6-list-after-webhook")


def test_viewer_sees_the_canvas_read_only(page: Page, live_server: str):
    add_member("vera@example.org", "viewer-password-1", Role.VIEWER)
    sign_in(page)
    open_new_workflow(page, "Read-only check")
    build_graph(page)
    finish_second_step(page)
    page.keyboard.press("Control+s")
    expect(page.get_by_text("Saved as version 2.")).to_be_visible()
    builder_url = page.url
    page.context.clear_cookies()

    sign_in(page, "vera@example.org", "viewer-password-1")
    page.goto(builder_url)
    expect(page.get_by_text("Read-only: your role is viewer")).to_be_visible()
    expect(page.get_by_role("button", name="Save")).to_have_count(0)
    expect(page.get_by_role("button", name="Run", exact=True)).to_have_count(0)
    click_node(page, "job:step-1")
    expect(page.get_by_label("Name", exact=True)).to_be_disabled()
    expect(page.locator("#request-builder")).to_be_hidden()
    screenshot(page, "studio-7-viewer-read-only")
    page.get_by_role("tab", name="Run").click()
    expect(page.locator("#run-readonly")).to_be_visible()
    # The server refuses too, whatever the page shows.
    status = page.evaluate(
        """async () => {
            const data = JSON.parse(document.getElementById('studio-data').textContent);
            const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
            const save = await fetch(data.urls.save, {method: 'POST', headers: {
                'Content-Type': 'application/json', 'X-CSRFToken': token},
                body: JSON.stringify({document: data.document, positions: {}, lock_version: 2})});
            const run = await fetch(location.pathname + '/runs', {method: 'POST',
                headers: {'X-CSRFToken': token}, body: new URLSearchParams({source: 'empty'})});
            return [save.status, run.status];
        }"""
    )
    assert status == [403, 403]


def test_bad_input_gets_a_clear_message_where_the_user_looks(page: Page, live_server: str):
    sign_in(page)
    open_new_workflow(page, "Checks")
    build_graph(page)

    # A cycle: connect the second step back to the first.
    drag_connect(page, "job:step-2", "job:step-1")
    expect(page.locator("#studio-problems")).to_contain_text("This edge makes a cycle")
    screenshot(page, "studio-8-cycle")
    page.once("dialog", lambda dialog: dialog.accept())
    page.keyboard.press("Delete")  # the new edge is selected: delete it, confirming
    expect(page.locator("#studio-problems")).not_to_contain_text("cycle")

    # An empty step name: the message sits under the name field.
    click_node(page, "job:step-1")
    page.get_by_label("Name", exact=True).fill("")
    expect(page.locator("#step-name-error")).to_have_text("A step needs a name.")
    page.get_by_label("Name", exact=True).fill("Shape records")

    # An invalid cron expression: the preview says so as it is typed.
    page.get_by_role("button", name="Add trigger").click()
    page.get_by_role("button", name="Schedule (cron)").click()
    expect(page.locator("[data-cron-ticks] li")).to_have_count(5)
    page.get_by_label("Schedule", exact=True).select_option("custom")
    page.get_by_label("Cron expression").fill("61 25 * * *")
    expect(page.locator("[data-cron-error]")).to_contain_text("is not a valid cron expression")
    screenshot(page, "studio-9-invalid-cron")
    page.get_by_label("Cron expression").fill("30 6 * * 1")
    expect(page.locator("[data-cron-ticks] li").first).to_contain_text("Mon")

    # Invalid JSON input: the message is under the input editor.
    finish_second_step(page)
    page.keyboard.press("Control+s")
    expect(page.get_by_text("Saved as version 2.")).to_be_visible()
    page.get_by_role("tab", name="Run").click()
    page.get_by_text("Custom JSON").click()
    type_in_editor(page, "#run-input-editor", '{"data": [1, 2,]}')
    page.get_by_role("button", name="Run Ctrl+Enter").click()
    expect(page.locator("#run-input-error")).to_contain_text("The input is not valid JSON")
    screenshot(page, "studio-10-invalid-json")

    # Importing a document that names no workflow: the message shows under the pasted YAML.
    page.get_by_role("button", name="YAML").click()
    page.get_by_label("Workflow YAML").fill("jobs: {}")
    page.get_by_role("button", name="Import workflow").click()
    expect(page.locator("#import-form .invalid-feedback")).to_be_visible()
    page.locator("#yaml-modal").get_by_role("button", name="Close").click()

    # A duplicate workflow name: the create form says so next to the field.
    page.get_by_role("navigation", name="Project").get_by_role("link", name="Workflows").click()
    page.get_by_role("link", name="Create workflow").first.click()
    page.get_by_label("Name").fill("Checks")
    page.get_by_role("button", name="Create workflow").click()
    expect(page.locator(".invalid-feedback")).to_contain_text(
        "This project already has a workflow named 'Checks'."
    )
    screenshot(page, "studio-11-duplicate-name")


def test_connect_and_delete_by_keyboard(page: Page, live_server: str):
    sign_in(page)
    open_new_workflow(page, "Keyboard journey")
    page.get_by_role("button", name="Add trigger").click()
    page.get_by_role("button", name="Webhook").click()
    click_empty_canvas(page)
    page.get_by_role("button", name="Add step").click()
    click_empty_canvas(page)
    page.get_by_role("button", name="Add step").click()
    click_empty_canvas(page)
    edges = "() => Object.keys(window.ferryStudio.model.doc.edges).sort()"
    assert page.evaluate(edges) == []
    announce = page.locator("#studio-announce")

    # Arrow keys walk the canvas; C lists the steps the trigger may lead to; pick one.
    page.locator("#studio-canvas").focus()
    page.keyboard.press("ArrowRight")
    expect(announce).to_have_text(re.compile(r"Selected webhook trigger “webhook” \(1 of 3\)"))
    page.keyboard.press("c")
    expect(announce).to_contain_text("Connecting from webhook trigger “webhook”")
    targets = page.locator("#connect-targets button")
    expect(targets).to_have_text(["Step 1", "Step 2"])
    screenshot(page, "studio-keyboard-connect-list")
    targets.first.focus()
    page.keyboard.press("Enter")
    expect(announce).to_contain_text(
        "Connected webhook trigger “webhook” to step “Step 1” (always)"
    )
    expect(page.locator("#connect-panel")).to_be_hidden()
    expect(page.locator("#edge-panel")).to_be_visible()  # the new edge is selected
    assert page.evaluate(edges) == ["webhook->step-1"]

    # Or: C, move to the target with the arrow keys (only valid targets), Enter.
    page.keyboard.press("ArrowLeft")  # from the new edge back to Step 2, then Step 1
    page.keyboard.press("ArrowLeft")
    expect(announce).to_contain_text("Selected step “Step 1”")
    page.keyboard.press("c")
    page.keyboard.press("ArrowRight")
    expect(announce).to_contain_text("Connect to step “Step 2” (1 of 1)? Press Enter")
    page.keyboard.press("Enter")
    expect(announce).to_contain_text("Connected step “Step 1” to step “Step 2” (on success)")
    assert page.evaluate(edges) == ["step-1->step-2", "webhook->step-1"]
    expect(page.locator("#studio-canvas")).to_be_focused()

    # Escape leaves connecting without a change.
    page.keyboard.press("Home")
    page.keyboard.press("c")
    page.keyboard.press("Escape")
    expect(announce).to_have_text("Connecting cancelled.")
    assert len(page.evaluate(edges)) == 2

    # Delete removes the selected edge, then a step with its edges, after asking.
    page.keyboard.press("End")  # the last element: the edge Step 1 -> Step 2
    expect(announce).to_contain_text("Selected edge from step “Step 1” to step “Step 2”")
    page.once("dialog", lambda dialog: dialog.accept())
    page.keyboard.press("Delete")
    expect(announce).to_have_text(
        "Deleted edge from step “Step 1” to step “Step 2”. Save to keep the change."
    )
    assert page.evaluate(edges) == ["webhook->step-1"]
    page.keyboard.press("ArrowRight")  # from nothing selected: the first node
    page.keyboard.press("ArrowRight")
    expect(announce).to_contain_text("Selected step “Step 1”")
    page.once("dialog", lambda dialog: dialog.accept())
    page.keyboard.press("Delete")
    expect(announce).to_contain_text("Deleted step “Step 1”")
    assert page.evaluate(edges) == []
    assert page.evaluate("() => Object.keys(window.ferryStudio.model.doc.jobs)") == ["step-2"]
    expect(page.locator("#studio-canvas")).to_be_focused()
    screenshot(page, "studio-keyboard-deleted")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")  # opens the step's details: its first field has the focus
    expect(page.get_by_label("Name", exact=True)).to_be_focused()
    page.get_by_label("Adaptor", exact=True).select_option("common")
    page.keyboard.press("Control+s")
    expect(page.get_by_text("Saved as version 2.")).to_be_visible()
    saved = page.evaluate("() => window.ferryStudio.model.doc")
    assert list(saved["jobs"]) == ["step-2"] and saved["edges"] == {}
