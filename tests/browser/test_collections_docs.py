"""An analyst finds the `collections.*` operations in the Studio: the step's Adaptor docs list
them with their parameters and examples, and the request builder writes one into the body
and opens it again with Edit line."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.studio_helpers import click_node, sign_in
from tests.browser.test_studio import open_new_workflow


def editor_text(page: Page) -> str:
    return page.evaluate("() => window.ace.edit('step-body-editor').getValue()")


def from_input(form, param: str):
    """The "From input" box of a parameter."""
    return form.locator(f"[data-param={param}] [data-mode=input] input")


def test_the_adaptor_docs_and_request_builder_offer_the_collections_operations(
    page: Page, live_server: str
):
    sign_in(page)
    open_new_workflow(page, "Patient de-duplication")
    page.get_by_role("button", name="Add trigger").click()
    page.get_by_role("button", name="Webhook").click()
    click_node(page, "trigger:webhook")
    page.locator("#studio-plus").click()
    page.get_by_label("Name", exact=True).fill("Remember patients sent")
    page.get_by_label("Adaptor", exact=True).select_option("common")

    docs = page.locator("#adaptor-docs-panel")
    docs.locator("summary").click()
    entry = docs.locator(".studio-docs > div", has=page.locator("code", has_text="collections.set"))
    expect(entry).to_contain_text("Store a JSON value under a key in a project collection")
    expect(entry).to_contain_text("De-duplicating patients")
    expect(entry).to_contain_text('collections.set("patients-seen", lambda patient:')
    for name in ("collections.get", "collections.remove", "collections.each"):
        expect(docs.locator("code.fw-semibold", has_text=name)).to_be_visible()
    docs.locator("code.fw-semibold", has_text="collections.get").scroll_into_view_if_needed()
    screenshot(page, "collections-docs-1-adaptor-reference")

    # The builder lists them by the name jobs call them by, and writes the dotted call.
    operation = page.locator("#rb-operation")
    expect(operation.locator("option[value='collections.set']")).to_have_text("collections.set")
    operation.select_option("collections.set")
    page.get_by_role("button", name="Open form").click()
    form = page.locator("#rb-op-form")
    expect(form).to_contain_text("collections.set")
    form.get_by_label("Collection", exact=True).fill("patients-seen")
    form.get_by_label("How to give Key").select_option("input")
    # The label follows the box of the chosen way, so it finds the "From input" box.
    form.get_by_label("Key", exact=True).fill("data.id")
    expect(from_input(form, "key")).to_have_value("data.id")
    form.get_by_label("How to give Value").select_option("input")
    form.get_by_label("Value", exact=True).fill("data")
    expect(from_input(form, "value")).to_have_value("data")
    screenshot(page, "collections-docs-2-request-form")
    form.get_by_role("button", name="Insert into body").click()
    expect(page.locator("#rb-op-form")).to_have_count(0)
    assert (
        editor_text(page).strip().endswith('collections.set("patients-seen", S.data.id, S.data)')
    ), editor_text(page)

    # Edit line reads it back into its form.
    page.evaluate(
        "() => { const e = window.ace.edit('step-body-editor');"
        " e.gotoLine(e.session.getLength(), 0); }"
    )
    page.get_by_role("button", name="Edit line").click()
    form = page.locator("#rb-op-form")
    expect(form.get_by_label("Collection", exact=True)).to_have_value("patients-seen")
    expect(from_input(form, "key")).to_have_value("data.id")
    screenshot(page, "collections-docs-3-edit-line")
