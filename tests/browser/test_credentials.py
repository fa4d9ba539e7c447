"""Journey: create a DHIS2 credential through the form, share it into the demo project, use
it in a step, and check the run used it while storing no secret in output or logs."""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app import create_app
from app.config import Settings
from app.extensions import db
from app.models import Dataclip, LogLine, Project, StepRun, WorkOrder
from app.services.demo import DEMO_EMAIL, DEMO_PASSWORD
from app.services.workflows import store
from tests.browser.conftest import screenshot
from tests.browser.studio_helpers import click_node
from tests.browser.test_sign_in import sign_in
from tests.support import browser_redis_url, database_url

PASSWORD = "district-Browser-7731"
FINAL = {"success", "failed", "crashed", "killed", "cancelled", "exception", "lost"}
WORKFLOW = """
name: Browser credential journey
triggers:
  webhook:
    type: webhook
jobs:
  me:
    name: Who am I in DHIS2
    adaptor: dhis2@1
    body: |
      log("signing in with", S.configuration["password"])
      get("me")
edges:
  webhook->me:
    source_trigger: webhook
    target_job: me
    condition_type: always
"""


class FakeDhis2(BaseHTTPRequestHandler):
    """A DHIS2 stand-in that answers /api/me.json and, carelessly, echoes the password."""

    seen: list[str] = []

    def do_GET(self):
        FakeDhis2.seen.append(self.headers.get("Authorization", ""))
        body = json.dumps({"username": "admin", "careless_echo": PASSWORD}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture
def dhis2_server():
    """The fake DHIS2 on a loopback port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeDhis2)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def live_db(live_server):
    """The live server's database, opened from the test process."""
    app = create_app(
        Settings(env="test", database_url=database_url("browser"), redis_url=browser_redis_url())
    )
    with app.app_context():
        yield db
        db.session.remove()
        db.engine.dispose()


def test_create_a_dhis2_credential_and_use_it_in_a_step(
    page: Page, live_server: str, live_db, dhis2_server: str
):
    sign_in(page, DEMO_EMAIL, DEMO_PASSWORD)
    page.goto("/credentials/new")
    page.get_by_role("link", name="DHIS2").click()
    expect(page.get_by_role("heading", name="New DHIS2 credential")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("DHIS2 from the browser")
    page.get_by_label("Base URL").fill(dhis2_server)
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Show Password while typing").click()
    expect(page.get_by_label("Password", exact=True)).to_have_attribute("type", "text")
    page.get_by_label("Production system").check()
    screenshot(page, "credential-form-dhis2")
    page.get_by_role("button", name="Save credential").click()

    expect(page.get_by_text("Its secrets will not be shown again.")).to_be_visible()
    expect(page.get_by_role("heading", name="DHIS2 from the browser")).to_contain_text("production")
    page.get_by_label("Share into a project").select_option(label="Demo project")
    page.get_by_role("button", name="Share").click()
    expect(page.get_by_text("Shared into “Demo project”")).to_be_visible()
    assert PASSWORD not in page.content()

    project = live_db.session.scalar(select(Project).where(Project.name == "Demo project"))
    project.egress_allowlist = ["127.0.0.1"]  # the fake DHIS2 lives on loopback
    live_db.session.commit()
    workflow = store.create_workflow(project.id, WORKFLOW)
    trigger_id = workflow.triggers[0].id
    builder = f"/projects/{project.id}/workflows/{workflow.id}"
    live_db.session.remove()

    # The step picks the credential in the builder: listed with its type and production mark.
    page.goto(builder)
    page.wait_for_function("() => window.ferryStudio !== undefined")
    click_node(page, "job:me")
    picker = page.locator("#step-credential")
    choice = picker.locator("label", has_text="DHIS2 from the browser")
    expect(choice.locator("[data-credential-type]")).to_have_text("DHIS2")
    expect(choice).to_contain_text("production")
    expect(picker.get_by_label("No credential")).to_be_checked()
    choice.click()
    expect(choice.locator("input")).to_be_checked()
    screenshot(page, "credential-picked-in-builder")
    page.keyboard.press("Control+s")
    expect(page.get_by_text("Saved as version 2.")).to_be_visible()

    page.goto("/credentials")
    page.get_by_role("link", name="DHIS2 from the browser").click()
    expect(page.get_by_text("Browser credential journey")).to_be_visible()
    screenshot(page, "credential-page-dhis2")
    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    expect(page.get_by_label("Username")).to_have_value("admin")
    assert PASSWORD not in page.content()

    accepted = httpx.post(f"{live_server}/i/{trigger_id}", json={"patient": 1}, timeout=30)
    assert accepted.status_code == 200, accepted.text
    work_order_id = uuid.UUID(accepted.json()["work_order_id"])
    state = _wait_for(live_db, work_order_id)
    runs = _step_runs(live_db, work_order_id)
    assert state == "success", runs
    basic = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
    assert FakeDhis2.seen == [f"Basic {basic}"]  # the step really used the credential

    stored = json.dumps(runs, default=str)
    assert "careless_echo" in stored and "***" in stored
    assert PASSWORD not in stored and basic not in stored


def _wait_for(live_db, work_order_id: uuid.UUID, seconds: float = 60.0) -> str:
    deadline = time.monotonic() + seconds
    while True:
        work_order = live_db.session.get(WorkOrder, work_order_id)
        state = work_order.state.value if work_order else None
        live_db.session.remove()
        if state in FINAL:
            return state
        assert time.monotonic() < deadline, f"the run did not finish (state {state})"
        time.sleep(0.2)


def _step_runs(live_db, work_order_id: uuid.UUID) -> list[dict]:
    """Everything stored about the work order's steps: outputs, errors and log lines."""
    from app.models import Run

    run_ids = list(
        live_db.session.scalars(select(Run.id).where(Run.work_order_id == work_order_id))
    )
    result = []
    for step_run in live_db.session.scalars(select(StepRun).where(StepRun.run_id.in_(run_ids))):
        output = live_db.session.get(Dataclip, step_run.output_dataclip_id)
        result.append(
            {
                "exit_reason": step_run.exit_reason,
                "error": step_run.error_message,
                "output": output.body if output else None,
            }
        )
    result.append(
        {
            "logs": [
                line.message
                for line in live_db.session.scalars(
                    select(LogLine).where(LogLine.run_id.in_(run_ids))
                )
            ]
        }
    )
    return result
