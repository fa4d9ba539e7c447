"""The schedule trigger's panel in Chromium says which stored state the next scheduled run
would start from: the dataclip (short id, age, run, preview, a link to it on its run page)
for the panel's current choice, or "none yet: the next run starts with {}"."""

from __future__ import annotations

import re
import time
import uuid

from playwright.sync_api import Page, expect

from app.extensions import db
from tests.browser.conftest import screenshot
from tests.browser.studio_helpers import click_node, sign_in, with_live_data

DOCUMENT = """
name: {name}
triggers:
  nightly:
    type: cron
    cron_expression: "30 2 1 1 *"
    enabled: false
jobs:
  pull:
    name: Pull visits
    adaptor: common@1
    body: |
      fn(lambda state: {{**state, "cursor": "{cursor}", "data": {{"visits": 3}}}})
  push:
    name: Push visits
    adaptor: common@1
    body: |
      fn(lambda state: {{**state, "pushed": True}})
edges:
  nightly->pull:
    source_trigger: nightly
    target_job: pull
  pull->push:
    source_job: pull
    target_job: push
    condition_type: on_job_success
"""


def workflow_with_a_successful_run(cursor: str) -> tuple[str, str, str]:
    """A saved workflow in the demo project whose manual run (on the live server's worker)
    succeeded; returns the builder's path, the run's id and its final dataclip's id."""

    def create():
        from app.models import Project
        from app.services.runs import commands
        from app.services.workflows import store

        project = db.session.query(Project).filter_by(name="Demo project").one()
        name = f"Visit sync {uuid.uuid4().hex[:6]}"
        workflow = store.create_workflow(project.id, DOCUMENT.format(name=name, cursor=cursor))
        run = commands.start_manual_run(workflow.id, project_id=project.id, actor_id=None)
        return f"/projects/{project.id}/workflows/{workflow.id}", str(run.id)

    path, run_id = with_live_data(create)

    def finished():
        from app.models import Run

        run = db.session.get(Run, uuid.UUID(run_id))
        return run.state.value, str(run.final_dataclip_id)

    deadline = time.monotonic() + 30
    while (state := with_live_data(finished))[0] != "success":
        assert state[0] in ("available", "claimed", "started"), f"the run ended {state[0]}"
        assert time.monotonic() < deadline, "the run did not finish within 30 s"
        time.sleep(0.2)
    return path, run_id, state[1]


def test_the_trigger_panel_shows_the_dataclip_the_next_run_would_use(page: Page):
    path, run_id, final_id = workflow_with_a_successful_run("visits-2026-12-01")
    sign_in(page)
    page.goto(path)
    page.wait_for_load_state("load")
    click_node(page, "trigger:nightly")

    # The default: the final state of the last successful run.
    box = page.locator("#cron-next-input")
    expect(box.locator("[data-cron-next-dataclip]")).to_have_attribute(
        "data-cron-next-dataclip", final_id
    )
    expect(box).to_contain_text(f"run {run_id[:8]}, step “Push visits”")
    expect(box.locator("[data-cron-next-preview]")).to_contain_text('"cursor": "visits-2026-12-01"')
    expect(box.locator("time")).to_have_text(re.compile(r"just now|\d+ min ago"))
    box.scroll_into_view_if_needed()
    screenshot(page, "cron-cursor-next-input")

    # A chosen step's output: the pull's, in the same run.
    page.get_by_label("Each run receives").select_option("step_output")
    page.get_by_label("Step whose output is the input").select_option("pull")
    expect(box).to_contain_text("step “Pull visits”")
    expect(box.locator("[data-cron-next-preview]")).not_to_contain_text("pushed")

    # Nothing: the run starts with {}.
    page.get_by_label("Each run receives").select_option("empty")
    expect(box.locator("[data-cron-next-none]")).to_have_text(
        "None yet: the next run starts with {}. "
        "This trigger is set to start every run with nothing."
    )

    # The link opens the run page at the step whose output the run would get.
    page.get_by_label("Each run receives").select_option("last_success")
    box.get_by_role("link", name="Open this dataclip on its run page").click()
    expect(page).to_have_url(re.compile(rf"/runs/{run_id}\?step=[0-9a-f-]{{36}}$"))
    expect(page.get_by_text("visits-2026-12-01").first).to_be_visible()


def test_a_workflow_that_never_succeeded_starts_with_nothing(page: Page):
    def create():
        from app.models import Project
        from app.services.workflows import store

        project = db.session.query(Project).filter_by(name="Demo project").one()
        name = f"Fresh sync {uuid.uuid4().hex[:6]}"
        workflow = store.create_workflow(project.id, DOCUMENT.format(name=name, cursor="x"))
        return f"/projects/{project.id}/workflows/{workflow.id}"

    path = with_live_data(create)
    sign_in(page)
    page.goto(path)
    page.wait_for_load_state("load")
    click_node(page, "trigger:nightly")
    expect(page.locator("#cron-next-input [data-cron-next-none]")).to_have_text(
        "None yet: the next run starts with {}. No run of this workflow has succeeded yet."
    )
    page.locator("#cron-next-input").scroll_into_view_if_needed()
    screenshot(page, "cron-cursor-none-yet")

    # A choice Ferry does not know is refused with what to choose instead.
    refused = page.request.get(f"{path}/cron-input", params={"cron_input": "yesterday"})
    assert refused.status == 400
    assert "last_success, step_output or empty" in refused.text()
