"""The analyst's journey of issue 15, in Chromium, by clicking and typing into forms only
(never into the code editor): a new workflow where each record of a webhook's JSON is POSTed
to an HTTP API with renamed fields, mapped from a pasted sample with the data mapper; then a
real webhook, and the API must receive exactly the right bodies. Every click, fill, choice
and key press is counted: more than 40 means the studio asks too much of a first-time user."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlparse

import httpx
from playwright.sync_api import Locator, Page, expect

from app.services.demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.browser.servers_studio import RecordingServer
from tests.browser.studio_helpers import allow_loopback, node_point

MAX_ACTIONS = 40
SHOTS = Path("/tmp/ferry/shots/mapper")
SAMPLE = '{"records": [{"name": "Ada", "age": 36, "ward": "B"}, {"name": "Grace", "age": 45}]}'


class Actions:
    """The journey's hands: each click, fill, choice or key press goes through here and counts."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.count = 0

    def click(self, target: Locator) -> None:
        self.count += 1
        target.click()

    def fill(self, target: Locator, text: str) -> None:
        self.count += 1
        target.fill(text)

    def select(self, target: Locator, value: str) -> None:
        self.count += 1
        target.select_option(value)

    def press(self, key: str) -> None:
        self.count += 1
        self.page.keyboard.press(key)

    def click_node(self, node_id: str) -> None:
        self.count += 1
        point = node_point(self.page, node_id)
        self.page.mouse.click(point["x"], point["y"])


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def test_an_analyst_maps_webhook_records_to_an_api_with_forms_only(page: Page, live_server: str):
    allow_loopback()
    hands = Actions(page)
    with RecordingServer() as api:
        page.goto("/login")
        hands.fill(page.get_by_label("Email"), DEMO_EMAIL)
        hands.fill(page.get_by_label("Password"), DEMO_PASSWORD)
        hands.click(page.get_by_role("button", name="Sign in"))
        hands.click(page.get_by_role("link", name="Demo project"))
        nav = page.get_by_role("navigation", name="Project")
        hands.click(nav.get_by_role("link", name="Workflows"))
        hands.click(page.get_by_role("link", name="Create workflow").first)
        hands.fill(page.get_by_label("Name"), "Registry sync")
        hands.click(page.get_by_role("button", name="Create workflow"))
        expect(page.locator("#studio-title")).to_have_text("Registry sync")
        page.wait_for_load_state("load")

        # A webhook trigger and a step after it.
        hands.click(page.get_by_role("button", name="Add trigger"))
        hands.click(page.get_by_role("button", name="Webhook"))
        hands.click_node("trigger:webhook")
        hands.click(page.locator("#studio-plus"))
        hands.fill(page.get_by_label("Name", exact=True), "Send to registry")
        hands.select(page.get_by_label("Adaptor", exact=True), "http")

        # The request form for http.post, and a pasted sample to map from.
        hands.select(page.locator("#rb-operation"), "post")
        hands.click(page.get_by_role("button", name="Open form"))
        form = page.locator("#rb-op-form")
        # Before any choice, the mapper says plainly what a click on a field will fill.
        expect(page.locator("#rb-target")).to_have_text(
            "Clicking a field of the sample fills Body → “(no name yet)” "
            "(or click the value box to fill first)."
        )
        hands.fill(form.get_by_label("Path or URL", exact=True), f"{api.url}/patients")
        hands.select(page.get_by_label("Sample input"), "paste")
        hands.fill(page.get_by_label("JSON sample"), SAMPLE)
        tree = page.locator("#rb-sample-tree")
        expect(tree.locator("[data-path='data.records.0.name']")).to_be_visible()

        # Repeat for each record; clicking a record's field fills the body's row.
        hands.click(tree.locator("[data-each='data.records']"))
        expect(form.get_by_label("Repeat for each record in")).to_have_value("data.records")
        body = form.locator("[data-param=body]")
        hands.click(tree.locator("[data-path='data.records.0.name']"))
        expect(body.get_by_label("Body value").first).to_have_value("data.name")
        expect(page.locator("#rb-target")).to_contain_text("Filled Body → “name” with data.name")
        hands.fill(body.get_by_label("Body name").first, "full_name")
        hands.click(body.get_by_role("button", name="Add field"))
        hands.click(tree.locator("[data-path='data.records.0.age']"))
        hands.fill(body.get_by_label("Body name").nth(1), "years")

        # The preview shows the first record's request as it would be sent.
        preview = page.locator("#rb-preview")
        expect(preview).to_contain_text("record 1 of 2")
        expect(preview.locator("#rb-preview-request")).to_contain_text(f"POST {api.url}/patients")
        expect(preview.locator("#rb-preview-body")).to_contain_text('"years": 36')
        expect(preview.locator("#rb-preview-body")).to_contain_text('"full_name": "Ada"')
        page.locator("#rb-mapper").scroll_into_view_if_needed()
        shot(page, "mapper-tree-and-preview")

        hands.click(form.get_by_role("button", name="Insert into body"))
        editor = page.locator("#step-body-editor")
        expect(editor).to_contain_text("each(")
        expect(editor).to_contain_text('"full_name": S.data.name')
        code = page.evaluate("() => window.ace.edit('step-body-editor').getValue()")
        assert code == (
            "each(\n"
            "    S.data.records,\n"
            "    post(\n"
            f'        "{api.url}/patients",\n'
            '        body={"full_name": S.data.name, "years": S.data.age},\n'
            "    ),\n"
            ")"
        )
        expect(page.locator("#rb-preview")).to_contain_text("Open a form above")
        expect(page.locator("#rb-target")).to_contain_text("Open a form above")
        shot(page, "mapper-inserted")

        hands.press("Control+s")
        expect(page.get_by_text("Saved as version 2.")).to_be_visible()
        hands.click_node("trigger:webhook")
        hook = page.locator("#webhook-url").input_value()

        payload = {
            "records": [{"name": "Linus", "age": 54, "ward": "C"}, {"name": "Margaret", "age": 33}]
        }
        reply = httpx.post(live_server + urlparse(hook).path, json=payload, timeout=10)
        assert reply.status_code == 200, reply.text
        deadline = time.monotonic() + 30
        while len(api.received) < 2:
            assert time.monotonic() < deadline, f"the API received only {api.received}"
            time.sleep(0.2)
        time.sleep(0.5)  # nothing more may arrive
        assert api.received == [
            {"path": "/patients", "body": {"full_name": "Linus", "years": 54}},
            {"path": "/patients", "body": {"full_name": "Margaret", "years": 33}},
        ]
        journey = hands.count

        # Afterwards the mapper can map from what really arrived: the webhook's input.
        page.locator("#studio-canvas").focus()
        hands.click_node("job:step-1")
        page.get_by_label("Sample input").select_option("last")
        expect(page.locator("[data-path='data.records.0.name']")).to_contain_text("Linus")
        page.get_by_label("Sample input").select_option("previous")
        expect(page.locator("#rb-sample-tree")).to_contain_text("right after the trigger")
    assert journey <= MAX_ACTIONS, f"{journey} actions: the journey asks too much"
    print(f"analyst journey: {journey} actions")


def test_the_mapper_by_keyboard_bad_samples_and_edit_line_on_laid_out_code(
    page: Page, live_server: str
):
    from tests.browser.studio_helpers import sign_in
    from tests.browser.test_studio import open_new_workflow

    sign_in(page)
    open_new_workflow(page, "Mapper checks")
    page.get_by_role("button", name="Add step").click()
    page.get_by_label("Adaptor", exact=True).select_option("http")
    page.locator("#rb-operation").select_option("post")
    page.get_by_role("button", name="Open form").click()
    form = page.locator("#rb-op-form")
    form.get_by_label("Path or URL", exact=True).fill("https://registry.example.org/api/patients")

    # A bad sample is answered next to the paste box, in words; a good one replaces it.
    page.get_by_label("Sample input").select_option("paste")
    expect(page.locator("#rb-sample-error")).to_be_empty()  # nothing typed is not an error
    page.get_by_label("JSON sample").fill('{"records": [{"name": "Ada",}]}')
    error = page.locator("#rb-sample-error")
    expect(error).to_contain_text("The sample is not valid JSON")
    expect(error).to_contain_text("line 1")
    page.locator("#rb-mapper").scroll_into_view_if_needed()
    shot(page, "mapper-bad-sample")
    page.get_by_label("JSON sample").fill('{"records": [{"name": "Ada", "id": 7}]}')
    expect(error).to_be_empty()

    # By keyboard: Tab reaches the tree's fields, Enter fills the first empty body row.
    name = page.locator("[data-path='data.records.0.name']")
    name.focus()
    page.keyboard.press("Enter")
    body = form.locator("[data-param=body]")
    expect(body.get_by_label("Body value").first).to_have_value("data.records.0.name")
    expect(body.get_by_label("Body name").first).to_have_value("name")
    # Inside "Repeat for each", a field outside the records is refused in words.
    page.locator("[data-each='data.records']").press("Enter")
    # The form says it repeats before a field is chosen (else the field fills a plain row).
    expect(form.get_by_label("Repeat for each record in")).to_have_value("data.records")
    page.locator("[data-path='data.records']").press("Enter")
    expect(page.locator("#rb-target")).to_contain_text("data is one record")
    body.get_by_label("Body value").first.click()
    page.locator("[data-path='data.records.0.id']").press("Enter")
    expect(body.get_by_label("Body value").first).to_have_value("data.id")
    expect(page.locator("#rb-preview-body")).to_contain_text('"name": 7')
    body.scroll_into_view_if_needed()
    shot(page, "mapper-form-row-filled")
    form.get_by_role("button", name="Insert into body").click()
    expect(page.locator("#step-body-editor")).to_contain_text("S.data.records")
    code = "() => window.ace.edit('step-body-editor').getValue()"
    written = page.evaluate(code)
    assert written == (
        "each(\n"
        "    S.data.records,\n"
        '    post("https://registry.example.org/api/patients", body={"name": S.data.id}),\n'
        ")"
    )

    # Edit line from a middle row of the laid-out code reopens it; Update writes it back in place.
    page.evaluate("() => window.ace.edit('step-body-editor').gotoLine(3, 0, false)")
    page.get_by_role("button", name="Edit line").click()
    expect(form.get_by_label("Repeat for each record in")).to_have_value("data.records")
    expect(form.get_by_label("Path or URL", exact=True)).to_be_focused()  # autofocus done
    form.locator("[data-param=body]").get_by_label("Body name").first.fill("registry_id")
    form.get_by_role("button", name="Update line").click()
    expect(page.locator("#rb-op-form")).to_have_count(0)
    expect(page.locator("#step-body-editor")).to_contain_text("registry_id")
    assert page.evaluate(code) == written.replace('"name": S.data.id', '"registry_id": S.data.id')
    expect(page.locator("#rb-preview")).to_contain_text("Open a form above")
