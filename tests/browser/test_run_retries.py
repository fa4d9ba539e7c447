"""Journey: a webhook's step meets a remote system that is down (503). The run retries by
itself, then waits an hour because the remote asked for it (Retry-After); the run page shows
each attempt with its error and when the next one is due. An editor presses "Retry now": the
remote is back, and the run ends `success` on its third attempt."""

from __future__ import annotations

import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from playwright.sync_api import Page, expect

from app import create_app
from app.config import Settings
from app.extensions import db
from app.models import Project, Step, Workflow
from app.services.demo import DEMO_EMAIL, DEMO_PASSWORD
from app.services.runs.retry_policy import normalise
from app.services.workflows import store
from app.services.workflows.snapshots import take_snapshot
from tests.browser.conftest import screenshot
from tests.browser.test_sign_in import sign_in
from tests.support import browser_redis_url, database_url

pytestmark = pytest.mark.browser

FLOW = """
name: Case sync (retries)
triggers:
  webhook:
    type: webhook
    enabled: true
jobs:
  push:
    name: Send cases to DHIS2
    adaptor: http@1
    body: |
      get("{url}")
edges:
  webhook-push:
    source_trigger: webhook
    target_job: push
    condition_type: always
"""
# 503 and a short wait, 503 and a wait of an hour, then the remote is back.
ANSWERS = [(503, "1"), (503, "3600"), (200, None)]


class Remote:
    """DHIS2 having a bad hour, on loopback."""

    def __init__(self) -> None:
        self.calls = 0
        remote = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                status, wait = ANSWERS[min(remote.calls, len(ANSWERS) - 1)]
                remote.calls += 1
                body = b'{"status": "ok"}' if status == 200 else b'{"message": "maintenance"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if wait:
                    self.send_header("Retry-After", wait)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def flow(live_server):
    """(project id, trigger id, remote) for the workflow above in the demo project, its step
    retrying up to 3 times (set on the row and saved as a new version, as the builder does)."""
    remote = Remote()
    settings = Settings(
        env="test", database_url=database_url("browser"), redis_url=browser_redis_url()
    )
    app = create_app(settings)
    with app.app_context():
        project = db.session.query(Project).filter_by(name="Demo project").one()
        project.egress_allowlist = [*(project.egress_allowlist or []), f"127.0.0.1:{remote.port}"]
        url = f"http://127.0.0.1:{remote.port}/api/cases"
        created = store.create_workflow(project.id, FLOW.format(url=url))
        ids = str(project.id), str(created.triggers[0].id)
        workflow = db.session.get(Workflow, created.id)
        step = db.session.get(Step, created.steps[0].id)
        step.retry_policy = normalise({"max_attempts": 3, "initial_delay_s": 0.5, "jitter": 0})
        workflow.lock_version += 1
        db.session.flush()
        take_snapshot(workflow, None)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    yield (*ids, remote)
    remote.server.shutdown()


def test_a_run_waiting_to_retry_shows_its_attempts_and_retries_now(page: Page, live_server, flow):
    project_id, trigger_id, remote = flow
    reply = httpx.post(f"{live_server}/i/{trigger_id}", json={"cases": 12}, timeout=10)
    assert reply.status_code == 200
    run_id = uuid.UUID(reply.json()["run_id"])
    sign_in(page, DEMO_EMAIL, DEMO_PASSWORD)

    # The row changes live; on a loaded machine the page may open before the run parks and
    # miss nothing but be slow to hear it, so a reload (what a person would do) is allowed.
    row = page.locator("#history-rows tr[id^='wo-']:not(.ferry-detail)").first
    for attempt in range(3):
        page.goto(f"/projects/{project_id}/history")
        try:
            expect(row.locator(".ferry-state")).to_have_text("waiting to retry", timeout=15_000)
            break
        except AssertionError:
            if attempt == 2:
                raise

    page.goto(f"/projects/{project_id}/runs/{run_id}")
    waiting = page.locator("[data-retry-waiting]")
    expect(waiting).to_contain_text("will be tried again (attempt 3)")
    expect(waiting.locator("[data-next-attempt]")).to_contain_text(
        "Next attempt at", use_inner_text=True
    )
    expect(waiting.locator("[data-next-attempt]")).to_contain_text("(in 59 min")  # ~3600 s
    timeline = page.locator("#run-timeline")
    expect(timeline.locator("[data-attempt]")).to_have_text(["attempt 1", "attempt 2"])
    expect(timeline.locator("[data-attempt-error]").first).to_contain_text("503")
    expect(page.locator("h1 + .ferry-state")).to_have_text("waiting to retry")
    screenshot(page, "run-page-waiting-to-retry")

    page.get_by_role("button", name="Retry now").click()
    expect(page.locator("#run-body")).to_have_attribute("data-state", "success", timeout=30_000)
    expect(timeline.locator("[data-attempt]")).to_have_text(["attempt 1", "attempt 2", "attempt 3"])
    expect(page.locator("[data-retry-waiting]")).to_have_count(0)
    assert remote.calls == 3
    screenshot(page, "run-page-retried-now")
