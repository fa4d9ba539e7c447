"""Retries in the Studio, in Chromium: the workflow's default retries (shown while nothing is
selected), a step's own retries with a plain-language summary, "never retry this step", all
saved and seen again after a reload; a bad setting is marked next to its field and not saved."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from app.extensions import db
from tests.browser.conftest import screenshot
from tests.browser.studio_helpers import click_empty_canvas, click_node, sign_in, with_live_data

DOCUMENT = """
name: {name}
triggers:
  webhook:
    type: webhook
jobs:
  fetch:
    name: Fetch cases
    adaptor: common@1
    body: |
      fn(lambda state: state)
  post:
    name: Post cases
    adaptor: common@1
    body: |
      fn(lambda state: state)
edges:
  webhook->fetch:
    source_trigger: webhook
    target_job: fetch
  fetch->post:
    source_job: fetch
    target_job: post
    condition_type: on_job_success
"""


def _new_workflow() -> tuple[str, str]:
    """A saved workflow without retries in the demo project: (builder path, workflow id)."""

    def create():
        from app.models import Project
        from app.services.workflows import store

        project = db.session.query(Project).filter_by(name="Demo project").one()
        name = f"Case sync {uuid.uuid4().hex[:6]}"
        workflow = store.create_workflow(project.id, DOCUMENT.format(name=name))
        return f"/projects/{project.id}/workflows/{workflow.id}", str(workflow.id)

    return with_live_data(create)


def _stored(workflow_id: str) -> dict:
    """The workflow's stored version and policies, read from the live server's database."""

    def read():
        from app.services.workflows import store

        workflow = store.get_workflow(uuid.UUID(workflow_id))
        steps = {s.key: s.retry_policy for s in workflow.steps}
        return {"version": workflow.lock_version, "default": workflow.retry_policy, **steps}

    return with_live_data(read)


def _show_section(page: Page, selector: str) -> None:
    """Scroll the side panel so the section starts just below its tabs (for a screenshot)."""
    page.locator(selector).evaluate(
        "el => { el.scrollIntoView({block: 'start'}); el.closest('.studio-side').scrollTop -= 60; }"
    )


def test_set_retries_save_reload_and_see_them(page: Page):
    path, workflow_id = _new_workflow()
    sign_in(page)
    page.goto(path)
    panel = page.locator("#workflow-panel")

    # Nothing selected: the workflow's settings, its default retries off.
    expect(panel.get_by_role("heading", name="Workflow settings")).to_be_visible()
    expect(page.locator("#workflow-retry-summary")).to_contain_text("Off")
    panel.get_by_label("Default retries for steps without their own").check()
    panel.get_by_label("Attempts in all").fill("4")
    expect(page.locator("#workflow-retry-summary")).to_have_text(
        "Retries up to 3 times (4 attempts in all), waiting 5 s, then 10 s, then 20 s (±10%), "
        "after a connection error, a timeout, HTTP 429 or HTTP 5xx. "
        "Steps with their own retries use those."
    )
    screenshot(page, "retries-1-workflow-default")

    # A step without its own retries says the default applies; then it gets its own.
    click_node(page, "job:fetch")
    retries = page.locator("#step-retries")
    expect(page.locator("#workflow-panel")).to_be_hidden()
    expect(page.locator("#step-retry-summary")).to_contain_text(
        "The workflow's default applies. Retries up to 3 times"
    )
    retries.get_by_label("Retries: try again when another system fails").check()
    retries.get_by_label("Attempts in all").fill("3")
    retries.get_by_label("First wait (s)").fill("2")
    retries.get_by_label("Jitter (%)").fill("0")
    retries.get_by_label("HTTP 429 Too Many Requests").uncheck()
    expect(page.locator("#step-retry-summary")).to_have_text(
        "Retries up to 2 times (3 attempts in all), waiting 2 s, then 4 s, "
        "after a connection error, a timeout or HTTP 5xx."
    )
    expect(retries).to_contain_text("Never retried: job code that does not compile")
    _show_section(page, "#step-retries")
    screenshot(page, "retries-2-step-own")

    # The second step must never be retried, whatever the default.
    click_node(page, "job:post")
    never = retries.get_by_label("Never retry this step, whatever the workflow's default")
    expect(never).to_be_visible()
    never.check()
    expect(page.locator("#step-retry-summary")).to_contain_text("Never retried")

    page.keyboard.press("Control+s")
    expect(page.get_by_text("Saved as version 2.")).to_be_visible()
    stored = _stored(workflow_id)
    assert stored["default"]["max_attempts"] == 4
    assert stored["fetch"] == {
        "max_attempts": 3,
        "initial_delay_s": 2.0,
        "factor": 2.0,
        "max_delay_s": 300.0,
        "jitter": 0.0,
        "retry_on": ["connection", "timeout", "http_5xx"],
    }
    assert stored["post"]["max_attempts"] == 1

    # After a reload the panels show what was saved.
    page.reload()
    expect(page.locator("#workflow-retry-on")).to_be_checked()
    expect(panel.get_by_label("Attempts in all")).to_have_value("4")
    click_node(page, "job:fetch")
    expect(page.locator("#step-retry-on")).to_be_checked()
    expect(retries.get_by_label("First wait (s)")).to_have_value("2")
    expect(retries.get_by_label("HTTP 429 Too Many Requests")).not_to_be_checked()
    expect(page.locator("#step-retry-summary")).to_contain_text("waiting 2 s, then 4 s")
    click_node(page, "job:post")
    expect(page.locator("#step-retry-on")).not_to_be_checked()
    expect(page.locator("#step-retry-never")).to_be_checked()
    click_empty_canvas(page)
    expect(page.locator("#workflow-retry-summary")).to_contain_text("Retries up to 3 times")

    # At 768 px wide the section still fits the narrower side panel.
    page.set_viewport_size({"width": 768, "height": 800})
    page.wait_for_timeout(300)  # the canvas follows the new size before it is clicked
    click_node(page, "job:fetch")
    expect(page.locator("#step-retry-on")).to_be_checked()
    _show_section(page, "#step-retries")
    screenshot(page, "retries-5-step-768")
    page.set_viewport_size({"width": 1280, "height": 800})

    # The YAML shows the policies as the document holds them.
    page.get_by_role("button", name="YAML").click()
    expect(page.locator("#yaml-export pre")).to_contain_text("retry_policy:")
    expect(page.locator("#yaml-export pre")).to_contain_text("max_attempts: 1")
    page.locator("#yaml-modal").get_by_role("button", name="Close").click()

    # Comparing the versions names each change in the form's words.
    page.goto(f"{path}/versions/2/compare?with=1")
    changes = page.locator("#compare-changes")
    expect(changes).to_contain_text("Workflow default retries added")
    expect(changes).to_contain_text("Step “Fetch cases”: retries added")
    expect(changes).to_contain_text("Step “Post cases”: retries added")
    screenshot(page, "retries-4-compare")


def test_a_bad_retry_setting_is_marked_and_nothing_is_saved(page: Page):
    path, workflow_id = _new_workflow()
    sign_in(page)
    page.goto(path)
    click_node(page, "job:fetch")
    retries = page.locator("#step-retries")
    retries.get_by_label("Retries: try again when another system fails").check()
    retries.get_by_label("Attempts in all").fill("0")
    retries.get_by_label("Longest wait (s)").fill("1")
    for kind in ("Connection errors", "Timeouts", "HTTP 429", "HTTP 5xx"):
        retries.get_by_label(kind).uncheck()
    expect(page.locator("#step-retry-summary")).to_have_text(
        "Fill in every setting to see how this step is retried."
    )

    page.keyboard.press("Control+s")
    expect(page.locator("#studio-save-message")).to_contain_text("Not saved")
    expect(page.locator("#step-retry-max_attempts-error")).to_have_text(
        "Attempts in all must be a whole number from 1 to 20."
    )
    expect(retries.get_by_label("Attempts in all")).to_have_class(
        "form-control form-control-sm is-invalid"
    )
    _show_section(page, "#step-retries")
    screenshot(page, "retries-3-bad-setting")
    assert _stored(workflow_id)["version"] == 1

    # Fixed one by one: each message goes once its field is right, then the save goes through.
    retries.get_by_label("Attempts in all").fill("2")
    expect(page.locator("#step-retry-retry_on-error")).to_have_text(
        "Tick at least one kind of failure to retry after."
    )
    expect(page.locator("#step-retry-max_attempts-error")).to_have_text("")
    retries.get_by_label("Timeouts").check()
    expect(page.locator("#step-retry-max_delay_s-error")).to_contain_text("cannot be shorter")
    retries.get_by_label("Longest wait (s)").fill("60")
    expect(page.locator("#step-retry-max_delay_s-error")).to_have_text("")
    expect(page.locator("#step-retry-summary")).to_have_text(
        "Retries once (2 attempts in all), waiting 5 s (±10%), after a timeout."
    )
    page.keyboard.press("Control+s")
    expect(page.get_by_text("Saved as version 2.")).to_be_visible()
    assert _stored(workflow_id)["fetch"]["retry_on"] == ["timeout"]

    # A bad workflow default: its problem, clicked, opens the workflow's settings.
    click_empty_canvas(page)
    page.locator("#workflow-panel").get_by_label("Default retries for steps").check()
    page.locator("#workflow-panel").get_by_label("Factor").fill("50")
    click_node(page, "job:post")
    problem = page.locator('#studio-problems [data-problem="retry_policy.factor"]')
    expect(problem).to_contain_text("factor must be a number from 1 to 10")
    problem.click()
    expect(page.locator("#workflow-panel")).to_be_visible()
    expect(page.locator("#workflow-retry-factor-error")).to_have_text(
        "Factor must be a number from 1 to 10."
    )
    assert _stored(workflow_id)["version"] == 2
