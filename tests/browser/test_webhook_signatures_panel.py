"""The trigger panel's "Require a signature" section: an admin chooses the algorithm and
headers (a missing header is named next to its field), saves, has Ferry make the secret
(shown once, never again), and a request signed with it reaches the live server while an
unsigned one gets 401. An editor sees the rule but cannot change it."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx
from playwright.sync_api import Browser, Page, expect

from app.models import Role
from tests.browser.conftest import screenshot
from tests.browser.studio_helpers import add_member, click_node, sign_in


def open_new_workflow(page: Page, name: str) -> None:
    page.get_by_role("link", name="Demo project").click()
    page.get_by_role("navigation", name="Project").get_by_role("link", name="Workflows").click()
    page.get_by_role("link", name="Create workflow").first.click()
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Create workflow").click()
    expect(page.locator("#studio-title")).to_have_text(name)
    page.wait_for_load_state("load")


def test_an_admin_requires_a_signature_and_sets_its_secret(
    page: Page, browser: Browser, live_server: str
):
    sign_in(page)
    open_new_workflow(page, "Signed lab results")
    page.get_by_role("button", name="Add trigger").click()
    page.get_by_role("button", name="Webhook").click()
    click_node(page, "trigger:webhook")
    box = page.locator("#webhook-signature-box")
    expect(box.locator("#webhook-signature-fields")).to_be_hidden()
    box.get_by_label("Signature", exact=True).select_option("sha256")
    expect(box.get_by_label("Replay window (s)")).to_have_value("300")

    # Saving without the header's name: refused, and the field says why.
    page.keyboard.press("Control+s")
    error = box.locator("[data-error-for=webhook_signature_header]")
    expect(error).to_contain_text("needs the name of the header")
    error.scroll_into_view_if_needed()
    screenshot(page, "webhook-signature-panel-error")
    box.get_by_label("Signature header").fill("X-Lab-Signature")
    box.get_by_label("Timestamp header (optional)").fill("X-Lab-Timestamp")
    box.get_by_label("Replay window (s)").fill("120")
    expect(box.locator("#webhook-signature-scheme")).to_contain_text(
        'HMAC-SHA256(secret, the X-Lab-Timestamp value + "." + the raw body)'
    )
    page.keyboard.press("Control+s")
    expect(page.get_by_text("Saved as version")).to_be_visible()

    # Once saved, the trigger's secret box appears: none yet; an empty field makes one,
    # shown once.
    expect(box.locator("#webhook-signature-status")).to_contain_text("not set")
    with page.expect_response(lambda answer: "/signature-secret" in answer.url):
        box.get_by_role("button", name="Set", exact=True).click()
    made = box.locator("#webhook-signature-made-value")
    expect(made).to_be_visible()
    secret = made.input_value()
    assert len(secret) == 64
    box.evaluate("el => el.scrollIntoView({block: 'start'})")
    screenshot(page, "webhook-signature-panel")

    # A signed request is accepted by the live server; an unsigned one is refused.
    url = page.locator("#webhook-url").input_value()
    body = json.dumps({"result": "negative"}).encode()
    stamp = str(int(time.time()))
    signature = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    signed = httpx.post(
        url,
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-Lab-Timestamp": stamp,
            "X-Lab-Signature": f"sha256={signature}",
        },
    )
    assert signed.status_code == 200, signed.text
    unsigned = httpx.post(url, json={"result": "negative"})
    assert unsigned.status_code == 401 and "X-Lab-Signature".lower() in unsigned.json()["error"]

    # Opened again: the rule is as saved, the secret is "set" and never shown back.
    page.reload()
    page.wait_for_load_state("load")
    click_node(page, "trigger:webhook")
    expect(box.get_by_label("Signature header")).to_have_value("X-Lab-Signature")
    expect(box.get_by_label("Replay window (s)")).to_have_value("120")
    expect(box.locator("#webhook-signature-status")).to_contain_text("set")
    expect(box.get_by_label("Replace secret")).to_have_value("")
    assert secret not in page.content()

    # An editor sees the rule, read-only, and no secret box.
    workflow_url = page.url
    add_member("lab-editor@example.org", "correct horse battery staple", Role.EDITOR)
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 800})
    editor = context.new_page()
    try:
        sign_in(editor, "lab-editor@example.org", "correct horse battery staple")
        editor.goto(workflow_url)
        editor.wait_for_load_state("load")
        click_node(editor, "trigger:webhook")
        theirs = editor.locator("#webhook-signature-box")
        expect(theirs.get_by_label("Signature header")).to_have_value("X-Lab-Signature")
        expect(theirs.get_by_label("Signature header")).to_be_disabled()
        expect(theirs.get_by_label("Signature", exact=True)).to_be_disabled()
        expect(theirs.locator("#webhook-signature-readonly")).to_contain_text("Only project admins")
    finally:
        context.close()
