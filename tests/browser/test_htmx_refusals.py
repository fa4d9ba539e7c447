"""Refused htmx requests outside the Studio (js/htmx_refusals.js): an error page answering a
fragment request is never drawn inside the page; its message shows next to the form's field,
and a refusal htmx does not swap (a 404) is announced at the top of the page."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.models import User
from app.services.demo import DEMO_EMAIL, DEMO_PASSWORD
from tests import factories
from tests.browser.conftest import screenshot
from tests.browser.test_credentials import live_db  # noqa: F401 (a fixture)
from tests.browser.test_sign_in import sign_in

pytestmark = pytest.mark.browser


def _project_with_a_workflow(live_db) -> tuple[uuid.UUID, uuid.UUID]:  # noqa: F811
    demo = live_db.session.scalar(select(User).where(User.email == DEMO_EMAIL))
    project = factories.project(demo, f"Refusals {uuid.uuid4().hex[:6]}")
    workflow = factories.workflow(project, name="Registry sync")
    ids = project.id, workflow.id
    live_db.session.remove()
    return ids


def test_an_expired_form_token_is_said_next_to_the_switch(page: Page, live_db):  # noqa: F811
    project_id, workflow_id = _project_with_a_workflow(live_db)
    sign_in(page, DEMO_EMAIL, DEMO_PASSWORD)
    page.goto(f"/projects/{project_id}/workflows")
    page.wait_for_load_state("load")
    # The token expires while the page is open: the CSRF guard answers 400 with a whole page.
    page.evaluate(
        """() => {
          document.body.setAttribute('hx-headers', '{"X-CSRFToken": "expired"}');
          for (const input of document.querySelectorAll('input[name=csrf_token]')) {
            input.value = 'expired';
          }
        }"""
    )
    row = page.locator(f"#workflow-{workflow_id}")
    row.get_by_role("switch").click()
    expect(row.get_by_role("alert")).to_contain_text("security token")
    expect(row.get_by_role("switch")).to_be_checked()  # still on, as saved
    expect(page.locator("nav[aria-label=Main]")).to_have_count(1)  # no page inside the page
    expect(page.locator("main")).to_have_count(1)
    expect(row.get_by_role("button", name="Actions")).to_be_visible()
    screenshot(page, "refusal-next-to-switch")


def test_a_refusal_htmx_does_not_swap_is_announced(page: Page, live_db):  # noqa: F811
    project_id, workflow_id = _project_with_a_workflow(live_db)
    sign_in(page, DEMO_EMAIL, DEMO_PASSWORD)
    page.goto(f"/projects/{project_id}/workflows")
    page.wait_for_load_state("load")
    # Someone deleted the workflow meanwhile: the switch's request answers 404.
    page.evaluate(
        """(id) => {
          const form = document.querySelector(`#workflow-${id} form`);
          const gone = form.getAttribute('hx-post').replace(id, crypto.randomUUID());
          form.setAttribute('hx-post', gone);
          htmx.process(form);
        }""",
        str(workflow_id),
    )
    page.locator(f"#workflow-{workflow_id}").get_by_role("switch").click()
    refusal = page.locator("[data-refused], [data-refusal]").first
    expect(refusal).to_contain_text("There is no such workflow in this project.")
    expect(page.locator("main")).to_have_count(1)
