"""The `collections.*` operations as a worker runs them: the executor in-process, the real
fork-server sandbox (empty environment, egress guard), and the collections API served over
HTTP on loopback by a real server, against a database of this module's own (committed,
since the server's threads cannot see a test's rolled-back transaction)."""

from __future__ import annotations

import dataclasses
import threading
import uuid

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from app import create_app
from app.config import Settings
from app.extensions import db
from app.models import LogLine, Run, StepRun
from app.services import accounts, projects
from app.services.collections import items, store
from app.services.workflows import store as workflows
from tests.support import database_url, recreate_database, redis_url
from workers.executor import RunExecutor
from workers.runtime.protocol import StepRequest
from workers.runtime.sandbox import Sandbox

WORKFLOW = """
name: Collections {n}
triggers:
  hook:
    type: webhook
jobs:
  job:
    name: job
    adaptor: common@1
    body: |
{body}
edges:
  hook->job:
    source_trigger: hook
    target_job: job
"""


@dataclasses.dataclass
class Live:
    app: object
    base_url: str
    sandbox: Sandbox
    executor: RunExecutor


@pytest.fixture(scope="module")
def live():
    """The app on its own database, served over HTTP, with an executor and a sandbox."""
    url = database_url("collections_dsl")
    recreate_database(url)
    settings = Settings(env="test", database_url=url, redis_url=redis_url())
    app = create_app(settings)
    from workers.cli import upgrade_database

    upgrade_database(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base_url = f"http://127.0.0.1:{server.server_port}"
    # The executor hands steps this address for the API (BASE_URL here).
    app.config["FERRY_SETTINGS"] = dataclasses.replace(settings, base_url=base_url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    sandbox = Sandbox()
    try:
        with app.app_context():
            executor = RunExecutor(sandbox, "test-worker:collections")
            yield Live(app, base_url, sandbox, executor)
            executor.heartbeat.close()
            db.session.remove()
            db.engine.dispose()
    finally:
        sandbox.close()
        server.shutdown()


_numbers = iter(range(1, 10_000))


def run_job(live: Live, body: str, data: object = None, collections=("patients",)) -> dict:
    """Save a workflow whose one step runs `body`, start it by webhook, execute the run;
    returns its step run, logs and project id."""
    n = next(_numbers)
    user = accounts.create_user(f"dsl{n}-{uuid.uuid4().hex[:6]}@example.org", "correct horse 9")
    project = projects.create_project(user, f"DSL project {n}")
    project_id = project.id
    for name in collections:
        store.create_collection(project.id, name)
    indented = "\n".join("      " + line for line in body.strip().splitlines())
    workflow = workflows.create_workflow(project.id, WORKFLOW.format(n=n, body=indented))
    trigger = workflow.triggers[0]
    client = live.app.test_client()
    accepted = client.post(f"/i/{trigger.id}", json=data if data is not None else {})
    assert accepted.status_code == 200, accepted.get_data(as_text=True)
    run_id = uuid.UUID(accepted.get_json()["run_id"])
    live.executor.execute(run_id)
    db.session.remove()
    run = db.session.get(Run, run_id)
    step = db.session.scalar(select(StepRun).where(StepRun.run_id == run_id))
    logs = db.session.scalars(select(LogLine.message).where(LogLine.run_id == run_id)).all()
    return {"run": run, "step": step, "logs": logs, "project_id": project_id}


def output_of(result: dict) -> dict:
    from app.models import Dataclip

    return db.session.get(Dataclip, result["step"].output_dataclip_id).body


def test_a_job_sets_gets_pages_through_and_removes_2500_items(live):
    body = """
collections.set("patients", lambda p: p["id"], S.data["patients"])
collections.set("patients", "single", {"n": 1.5, "big": 2 ** 70})
collections.get("patients", "single")
fn(lambda state: {**state, "single": state["data"]})
collections.get("patients", "p-000*")
fn(lambda state: {**state, "ten": [i["key"] for i in state["data"]]})

def count(state, value, key):
    state["seen"] = state.get("seen", 0) + 1
    state["last"] = key
    return state

collections.each("patients", "p-*", count)
collections.remove("patients", "p-1*")
collections.get("patients", "p-1999")
fn(lambda state: {**state, "gone": state["data"]})
"""
    patients = [{"id": f"p-{i:04}", "name": f"Patient {i}"} for i in range(2500)]
    result = run_job(live, body, {"patients": patients})
    assert result["run"].state.value == "success", result["step"].error_message
    out = output_of(result)
    assert out["single"] == {"n": 1.5, "big": 2**70}
    assert out["ten"] == [f"p-000{i}" for i in range(10)]
    assert (out["seen"], out["last"]) == (2500, "p-2499")
    assert out["gone"] is None
    left = items.list_items(result["project_id"], "patients", "p-*", limit=1000)
    assert left.items[0].key == "p-0000" and items.get_item(
        result["project_id"], "patients", "p-2000"
    ).value == {"id": "p-2000", "name": "Patient 2000"}
    assert any("collections.set: 2500 items into 'patients'" in line for line in result["logs"])
    assert any("collections.remove: 1000 removed" in line for line in result["logs"])


def test_a_missing_collection_fails_the_step_saying_how_to_create_it(live):
    result = run_job(live, 'collections.set("visits", "k", 1)')
    assert result["run"].state.value == "failed"
    assert "no collection named 'visits'" in result["step"].error_message
    assert "Collections page" in result["step"].error_message


def test_a_refused_value_fails_the_step_with_the_apis_sentence(live):
    result = run_job(live, 'collections.set("patients", "big", "x" * (1024 * 1024 + 1))')
    assert result["run"].state.value == "failed"
    assert "above the 1,048,576 bytes (1 MB)" in result["step"].error_message


def test_the_step_token_never_reaches_logs_or_output(live):
    # The token travels in the request; a job that dumps everything it can see finds none.
    body = """
collections.set("patients", "k", S.data)
log(S)
fn(lambda state: {**state, "everything": repr(state)})
"""
    result = run_job(live, body, {"x": 1})
    assert result["run"].state.value == "success", result["step"].error_message
    text = " ".join(result["logs"]) + repr(output_of(result))
    assert "fst_" not in text


def test_without_ferry_api_access_the_operations_say_so(live):
    answer = live.sandbox.run(
        StepRequest(body='collections.get("patients", "k")', adaptor="common", state={})
    )
    assert answer.status == "failed"
    assert "only available to steps run by a Ferry worker" in answer.error["message"]


def test_a_forged_token_is_refused(live):
    answer = live.sandbox.run(
        StepRequest(
            body='collections.get("patients", "k")',
            adaptor="common",
            state={},
            ferry_api={"url": f"{live.base_url}/api/v1/projects/{uuid.uuid4()}", "token": "fst_x"},
        )
    )
    assert answer.status == "failed"
    assert "token has expired or its run has ended" in answer.error["message"]


def test_only_the_collections_operations_may_reach_ferrys_api_on_loopback(live):
    # The API is on 127.0.0.1, which steps may not reach: the guard opens it for the
    # collections operations' own requests, never for the job's.
    answer = live.sandbox.run(
        StepRequest(
            body=f'get("{live.base_url}/api/v1/projects")',
            adaptor="http",
            state={},
            ferry_api={"url": f"{live.base_url}/api/v1/projects/{uuid.uuid4()}", "token": "fst_x"},
        )
    )
    assert answer.status == "failed"
    assert "is not allowed" in answer.error["message"], answer.error


def test_the_token_is_scrubbed_wherever_the_step_writes_it(live):
    token = "fst_not-a-real-token-but-scrubbed"
    answer = live.sandbox.run(
        StepRequest(
            body='log("token:", S.data["t"])\nfn(lambda state: {**state, "copy": state["data"]})',
            adaptor="common",
            state={"data": {"t": token}},
            ferry_api={"url": f"{live.base_url}/api/v1/projects/{uuid.uuid4()}", "token": token},
        )
    )
    assert answer.status == "success"
    assert answer.state["copy"] == {"t": "***"}
    assert any(line.message == "token: ***" for line in answer.logs)


def test_keys_with_slashes_dots_and_url_characters_stay_one_key(live):
    keys = ["a/../b", "..", "a b?c#d%2F", "clé/ünïcode", " padded "]
    body = "\n".join(f"collections.set('patients', {k!r}, {i})" for i, k in enumerate(keys))
    body += "\ncollections.get('patients', '*')"
    result = run_job(live, body)
    assert result["run"].state.value == "success", result["step"].error_message
    stored = {item["key"]: item["value"] for item in output_of(result)["data"]}
    assert stored == {k: i for i, k in enumerate(keys)}
