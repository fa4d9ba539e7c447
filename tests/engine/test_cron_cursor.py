"""Cron cursors end to end: a "since the last sync" pull on a schedule continues from the
last run that got through, never from one that failed half-way.

The scheduler's tick function creates each work order (at chosen moments in the future, as
test_cron does, so the stack's own scheduler ticking in real time has nothing due) and the
stack's real workers run it against a source system on loopback. The source hands out a new
cursor on every pull and refuses the second run's load, so the second run fails after its
pull succeeded: the third run must still ask for the first run's cursor.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Dataclip, Project, Run, WorkOrder
from app.models.base import utcnow
from app.services.triggers import cron, cron_cursor
from tests.engine.helpers import new_workflow, wait_for_work_order

SYNC_DOC = """
name: Patient sync {tag}
triggers:
  nightly:
    type: cron
    cron_expression: "30 2 * * *"
    cron_input: {mode}
{job_line}
jobs:
  fetch:
    name: Fetch new patients
    adaptor: http@1
    body: |
      get("{source}/{tag}/records", query=lambda state: {{"since": state.get("cursor", "")}})
      fn(lambda state: {{**state, "cursor": state["data"]["next"]}})
  load:
    name: Load patients
    adaptor: http@1
    body: |
      post("{source}/{tag}/load", S.data)
edges:
  nightly->fetch:
    source_trigger: nightly
    target_job: fetch
  fetch->load:
    source_job: fetch
    target_job: load
    condition_type: on_job_success
"""


class Source:
    """A source system: each pull returns a fresh cursor; the second load is refused."""

    def __init__(self) -> None:
        self.pulls: dict[str, list[str]] = {}
        self.loads: dict[str, int] = {}
        self.lock = threading.Lock()
        source = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                url = urlsplit(self.path)
                tag = url.path.split("/")[1]
                since = parse_qs(url.query).get("since", [""])[0]
                with source.lock:
                    pulls = source.pulls.setdefault(tag, [])
                    pulls.append(since)
                    number = len(pulls)
                self._reply(200, {"patients": [f"p{number}"], "next": f"cursor-{number}"})

            def do_POST(self):
                tag = urlsplit(self.path).path.split("/")[1]
                self.rfile.read(int(self.headers.get("content-length") or 0))
                with source.lock:
                    source.loads[tag] = source.loads.get(tag, 0) + 1
                    number = source.loads[tag]
                if number == 2:
                    self._reply(400, {"error": "the target refused this batch"})
                else:
                    self._reply(200, {"loaded": number})

            def _reply(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def source():
    running = Source()
    yield running
    running.server.shutdown()


# Far enough ahead that no other engine test's schedule is due at these moments.
FIRST_TICK = datetime(2028, 5, 1, 2, 31, tzinfo=UTC)


def scheduled_workflow(stack, source, mode: str) -> tuple[dict, str]:
    tag = f"{mode.replace('_', '')}{uuid.uuid4().hex[:6]}"
    job_line = "    cron_input_job: fetch" if mode == "step_output" else ""
    document = SYNC_DOC.format(tag=tag, mode=mode, job_line=job_line, source=source.url)
    workflow = new_workflow(stack, document)
    with stack.app.app_context():
        project = db.session.get(Project, workflow["project_id"])
        project.egress_allowlist = [f"127.0.0.1:{source.port}"]
        db.session.commit()
        db.session.remove()
    return workflow, tag


def run_tick(stack, workflow: dict, day: int) -> dict:
    """The scheduler's tick on day `day` at 02:31; waits for this workflow's run to end."""
    with stack.app.app_context():
        cron.tick(FIRST_TICK + timedelta(days=day))
        work_order_id = db.session.scalar(
            select(WorkOrder.id)
            .where(WorkOrder.workflow_id == workflow["id"])
            .order_by(WorkOrder.cron_tick_at.desc())
            .limit(1)
        )
        db.session.remove()
    return wait_for_work_order(stack, str(work_order_id))


@pytest.mark.parametrize("mode", ["last_success", "step_output"])
def test_the_run_after_a_failed_one_starts_from_the_last_good_runs_output(stack, source, mode):
    workflow, tag = scheduled_workflow(stack, source, mode)

    first = run_tick(stack, workflow, 0)
    second = run_tick(stack, workflow, 1)
    third = run_tick(stack, workflow, 2)

    assert [first["state"], second["state"], third["state"]] == ["success", "failed", "success"]
    # The second run pulled (and got cursor-2) but failed to load: its pull must not count.
    assert second["steps"][0]["exit_reason"] == "success"
    assert second["steps"][-1]["exit_reason"] == "failed"
    assert source.pulls[tag] == ["", "cursor-1", "cursor-1"]
    # The third run's input is the very dataclip the first run left: its final state, or
    # the chosen step's (fetch's) output in it.
    fetch_output = first["steps"][0]["output"]
    expected = first["steps"][-1]["output"] if mode == "last_success" else fetch_output
    assert third["steps"][0]["input"] == expected
    assert expected["cursor"] == "cursor-1"


def test_the_cursor_names_the_dataclip_the_next_run_would_use(stack, source):
    workflow, _ = scheduled_workflow(stack, source, "step_output")
    with stack.app.app_context():
        before = cron_cursor.for_panel(workflow["id"], "step_output", "fetch")
        db.session.remove()
    assert before.dataclip_id is None
    assert "has not succeeded" in before.reason

    first = run_tick(stack, workflow, 0)
    run_tick(stack, workflow, 1)  # fails: the cursor stays where the first run left it
    with stack.app.app_context():
        after = cron_cursor.for_panel(workflow["id"], "step_output", "fetch")
        whole = cron_cursor.for_panel(workflow["id"], "last_success", None)
        first_run = db.session.get(Run, first["runs"][0]["id"])
        db.session.remove()
    assert after.run_id == first_run.id
    assert after.step_name == "Fetch new patients"
    assert '"cursor": "cursor-1"' in after.preview
    assert whole.dataclip_id == first_run.final_dataclip_id
    assert whole.step_name == "Load patients"


def test_a_cursor_wiped_by_retention_starts_the_next_run_afresh(stack, source):
    """Reading a wiped state back would fail every tick, and the cursor could never move
    again: the next run starts with {} and the panel says why."""
    workflow, tag = scheduled_workflow(stack, source, "last_success")
    first = run_tick(stack, workflow, 0)
    with stack.app.app_context():
        clip = db.session.get(Dataclip, first["runs"][0]["final_dataclip_id"])
        clip.body, clip.wiped_at = None, utcnow()
        db.session.commit()
        cursor = cron_cursor.for_panel(workflow["id"], "last_success", None)
        db.session.remove()
    assert cursor.dataclip_id is None
    assert cursor.reason == "The last successful run's output was wiped by the retention policy."
    second = run_tick(stack, workflow, 1)  # its load is refused, as in every workflow here
    assert second["steps"][0]["exit_reason"] == "success"
    assert second["steps"][0]["input"] is None
    assert source.pulls[tag] == ["", ""]
