"""The executor in-process, with the real sandbox: what a run leaves in the database and on
the live channels, and how a step whose credential cannot be used ends."""

from __future__ import annotations

import json
import time
import uuid

from sqlalchemy import select

from app.extensions import redis_client
from app.models import Dataclip, LogLine, Run, StepRun, WorkOrder
from app.models.base import utcnow
from app.services.credentials import sharing, store
from app.services.runs import events as run_events
from tests import factories
from tests.services.credentials.test_store import SECRET, make_credential
from workers.executor import RunExecutor

CREDENTIAL_WORKFLOW = """
name: {name}
triggers:
  hook:
    type: webhook
jobs:
  load:
    name: load
    adaptor: common@1
    credential: DHIS2 test
    body: |
      fn(lambda state: {{**state, "data": {{"user": state["configuration"]["username"]}}}})
  recover:
    name: recover
    adaptor: common@1
    body: |
      fn(lambda state: {{**state, "data": {{"recovered": True}}}})
  other:
    name: other
    adaptor: common@1
    body: |
      fn(lambda state: {{**state, "data": {{"other": True}}}})
edges:
  hook->load:
    source_trigger: hook
    target_job: load
  hook->other:
    source_trigger: hook
    target_job: other
"""
RECOVER_EDGE = """  load->recover:
    source_job: load
    target_job: recover
    condition_type: on_job_failure
"""

TWO_STEPS = """
name: Two steps
triggers:
  hook:
    type: webhook
jobs:
  double:
    name: double
    adaptor: common@1
    body: |
      log("doubling", S.data["n"])
      fn(lambda state: {**state, "data": {"n": state["data"]["n"] * 2}})
  label:
    name: label
    adaptor: common@1
    body: |
      fn(lambda state: {**state, "data": {**state["data"], "label": "done"}})
edges:
  hook->double:
    source_trigger: hook
    target_job: double
  double->label:
    source_job: double
    target_job: label
    condition_type: on_job_success
"""


def start_run(client, trigger_id: uuid.UUID, body: object) -> uuid.UUID:
    """A run queued through a webhook trigger, as a source system would."""
    response = client.post(f"/i/{trigger_id}", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    return uuid.UUID(response.get_json()["run_id"])


def steps_of(db, run_id: uuid.UUID) -> dict[str, StepRun]:
    rows = db.session.scalars(select(StepRun).where(StepRun.run_id == run_id)).all()
    return {row.step_name: row for row in rows}


def body_of(db, dataclip_id: uuid.UUID | None) -> object:
    return db.session.get(Dataclip, dataclip_id).body if dataclip_id else None


def credential_workflow(user, project, *, recover: bool = True):
    """A shared credential and a workflow whose `load` step uses it (with `recover` on its
    failure when asked) beside an `other` step that needs none."""
    credential = make_credential(user)
    sharing.share(user, credential.id, project.id)
    source = CREDENTIAL_WORKFLOW.format(name="Uses a credential")
    workflow = factories.workflow(project, source + (RECOVER_EDGE if recover else ""))
    return credential, workflow.triggers[0].id


def test_a_run_stores_every_step_its_logs_and_its_end(db, client, user, executor):
    trigger_id = factories.workflow(factories.project(user), TWO_STEPS).triggers[0].id
    run_id = start_run(client, trigger_id, {"n": 21})
    executor.execute(run_id)
    run = db.session.get(Run, run_id)
    assert run.state.value == "success"
    assert run.claimed_at is not None and run.started_at is not None
    assert run.finished_at >= run.started_at and run.worker_name == "test-worker:1"
    assert db.session.get(WorkOrder, run.work_order_id).state.value == "success"
    steps = steps_of(db, run_id)
    double, label = steps["double"], steps["label"]
    assert double.exit_reason.value == label.exit_reason.value == "success"
    assert double.input_dataclip_id == run.dataclip_id
    assert body_of(db, double.output_dataclip_id)["data"] == {"n": 42}
    assert label.input_dataclip_id == double.output_dataclip_id
    assert body_of(db, label.output_dataclip_id)["data"] == {"n": 42, "label": "done"}
    assert run.final_dataclip_id == label.output_dataclip_id
    assert double.finished_at <= label.started_at <= label.finished_at
    messages = db.session.scalars(
        select(LogLine.message).where(LogLine.step_run_id == double.id)
    ).all()
    assert "doubling 21" in messages


def test_live_views_hear_each_change_in_order(db, client, user, executor):
    trigger_id = factories.workflow(factories.project(user), TWO_STEPS).triggers[0].id
    run_id = start_run(client, trigger_id, {"n": 1})
    listener = redis_client().pubsub(ignore_subscribe_messages=True)
    listener.subscribe(run_events.run_channel(run_id))
    try:
        executor.execute(run_id)
        events: list[dict] = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (not events or events[-1]["event"] != "run_finished"):
            message = listener.get_message(timeout=0.5)  # None for the subscription itself
            if message is not None:
                events.append(json.loads(message["data"]))
    finally:
        listener.close()
    assert [e["event"] for e in events] == [
        "run_started",
        "step_started",
        "step_finished",
        "step_started",
        "step_finished",
        "run_finished",
    ]
    assert events[-1]["state"] == "success"


def test_a_ferry_failure_mid_step_ends_the_run_and_its_open_step(
    db, client, user, executor, monkeypatch
):
    trigger_id = factories.workflow(factories.project(user), TWO_STEPS).triggers[0].id
    run_id = start_run(client, trigger_id, {"n": 1})

    def broken(request, on_log=None):
        raise RuntimeError("the sandbox exploded")

    monkeypatch.setattr(executor.sandbox, "run", broken)
    executor.execute(run_id)
    run = db.session.get(Run, run_id)
    assert (run.state.value, run.error_type) == ("exception", "RuntimeError")
    assert steps_of(db, run_id)["double"].exit_reason.value == "exception"


def test_a_deleted_credential_fails_only_its_step_and_failure_edges_apply(
    db, client, user, executor
):
    project = factories.project(user)
    credential, trigger_id = credential_workflow(user, project)
    store.delete_credential(user, credential.id, credential.name)
    run_id = start_run(client, trigger_id, {"n": 1})
    executor.execute(run_id)
    steps = steps_of(db, run_id)
    load = steps["load"]
    assert load.exit_reason.value == "failed"
    assert load.error_type == "CredentialUnavailable"
    assert "deleted" in load.error_message
    assert (
        load.error_message
        in db.session.scalars(select(LogLine.message).where(LogLine.step_run_id == load.id)).all()
    )
    output = body_of(db, load.output_dataclip_id)
    assert output["errors"][str(load.step_id)]["type"] == "CredentialUnavailable"
    assert "configuration" not in output
    assert steps["recover"].exit_reason.value == "success"
    assert steps["recover"].input_dataclip_id == load.output_dataclip_id
    assert steps["other"].exit_reason.value == "success"
    assert db.session.get(Run, run_id).state.value == "success"


def test_an_unshared_credential_fails_its_step_and_the_run_says_why(db, client, user, executor):
    project = factories.project(user)
    # Without a failure edge the failed step decides how the run ends.
    credential, trigger_id = credential_workflow(user, project, recover=False)
    sharing.unshare(user, credential.id, project.id)
    run_id = start_run(client, trigger_id, {"n": 1})
    executor.execute(run_id)
    load = steps_of(db, run_id)["load"]
    assert (load.exit_reason.value, load.error_type) == ("failed", "CredentialUnavailable")
    assert "no longer shared into this project" in load.error_message
    assert steps_of(db, run_id)["other"].exit_reason.value == "success"
    run = db.session.get(Run, run_id)
    assert (run.state.value, run.error_type) == ("failed", "CredentialUnavailable")
    assert run.error_message == load.error_message


def test_a_usable_credential_reaches_its_step_and_never_its_output(db, client, user, executor):
    project = factories.project(user)
    _, trigger_id = credential_workflow(user, project)
    run_id = start_run(client, trigger_id, {"n": 1})
    executor.execute(run_id)
    load = steps_of(db, run_id)["load"]
    assert load.exit_reason.value == "success", load.error_message
    output = body_of(db, load.output_dataclip_id)
    assert output["data"] == {"user": "admin"}
    assert "configuration" not in output and SECRET not in json.dumps(output)
    assert "recover" not in steps_of(db, run_id)


def test_a_wiped_input_ends_the_run_before_any_step(db, client, user, executor):
    trigger_id = factories.workflow(factories.project(user), TWO_STEPS).triggers[0].id
    run_id = start_run(client, trigger_id, {"n": 1})
    run = db.session.get(Run, run_id)
    db.session.get(Dataclip, run.dataclip_id).wiped_at = utcnow()
    db.session.commit()
    executor.execute(run_id)
    db.session.refresh(run)
    assert (run.state.value, run.error_type) == ("exception", "InputUnavailable")
    assert "wiped" in run.error_message and steps_of(db, run_id) == {}


def test_the_demo_database_sqlite_stores_runs_the_same_way(tmp_path, sandbox):
    from app import create_app
    from app.config import Settings
    from app.extensions import db as database
    from tests.support import redis_url
    from workers.cli import upgrade_database

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    demo = create_app(Settings(env="test", database_url=url, redis_url=redis_url()))
    upgrade_database(demo)
    with demo.app_context():
        try:
            owner = factories.user()
            trigger_id = factories.workflow(factories.project(owner), TWO_STEPS).triggers[0].id
            run_id = start_run(demo.test_client(), trigger_id, {"n": 21})
            runner = RunExecutor(sandbox, "demo:1")
            runner.execute(run_id)
            runner.heartbeat.close()
            run = database.session.get(Run, run_id)
            assert run.state.value == "success"
            steps = steps_of(database, run_id)
            assert body_of(database, steps["label"].output_dataclip_id)["data"] == {
                "n": 42,
                "label": "done",
            }
            lines = database.session.scalars(
                select(LogLine).where(LogLine.step_run_id == steps["double"].id)
            ).all()
            assert "doubling 21" in [line.message for line in lines]
            assert all(line.timestamp.year >= 2024 for line in lines)
        finally:
            database.session.remove()
            database.engine.dispose()


NUL_STEP = r"""
name: NUL output
triggers:
  hook:
    type: webhook
jobs:
  read:
    name: read
    adaptor: common@1
    body: |
      log("clinic\x00 42")
      fn(lambda state: {**state, "data": {"na\x00me": "val\x00ue"}})
edges:
  hook->read:
    source_trigger: hook
    target_job: read
"""


def test_a_step_returning_nul_characters_succeeds_with_them_escaped(db, client, user, executor):
    trigger_id = factories.workflow(factories.project(user), NUL_STEP).triggers[0].id
    run_id = start_run(client, trigger_id, {})
    executor.execute(run_id)
    run = db.session.get(Run, run_id)
    assert run.state.value == "success", run.error_message
    read = steps_of(db, run_id)["read"]
    assert body_of(db, read.output_dataclip_id)["data"] == {"na\\u0000me": "val\\u0000ue"}
    messages = db.session.scalars(select(LogLine.message).where(LogLine.step_run_id == read.id))
    assert "clinic\\u0000 42" in messages.all()


def test_a_write_the_database_refuses_ends_the_run_saying_so_without_the_sql(
    db, client, user, executor, monkeypatch
):
    from app.services.runs import writes

    # Without its escaping, the NUL output is a write PostgreSQL refuses.
    monkeypatch.setattr(writes.nul, "escaped_part", lambda part, json_names: part)
    trigger_id = factories.workflow(factories.project(user), NUL_STEP).triggers[0].id
    run_id = start_run(client, trigger_id, {})
    executor.execute(run_id)
    run = db.session.get(Run, run_id)
    db.session.refresh(run)
    assert run.state.value == "exception"
    assert run.error_message.startswith("The database could not store the run: ")
    assert "\\u0000" in run.error_message
    assert "INSERT" not in run.error_message and "parameters" not in run.error_message
