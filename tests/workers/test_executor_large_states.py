"""A run whose state is large (a webhook body of a few hundred KB): the worker carries it
between PostgreSQL and the sandbox as JSON text, never parsed, and stores the same data
(and masks the same credential values) as it does for a small state."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.json_text import RAW_ABOVE_BYTES, JsonText
from app.models import Dataclip, Run, StepRun
from app.services.credentials import sharing
from tests import factories
from tests.services.credentials.test_store import SECRET, make_credential
from tests.workers.test_executor import start_run, steps_of

TWO_STEPS = """
name: Large state
triggers:
  hook:
    type: webhook
jobs:
  count:
    name: count
    adaptor: common@1
    body: |
      fn(lambda state: {**state, "data": {"records": state["data"], "count": len(state["data"])}})
  pass-on:
    name: pass on
    adaptor: common@1
    {credential}
    body: |
      fn(lambda state: state)
  broken:
    name: broken
    adaptor: common@1
    body: |
      fn(lambda state: state["no such key"])
edges:
  hook->count:
    source_trigger: hook
    target_job: count
  count->pass-on:
    source_job: count
    target_job: pass-on
    condition_type: on_job_success
  hook->broken:
    source_trigger: hook
    target_job: broken
"""


def records(count: int, secret: str = "") -> list[dict]:
    return [{"id": n, "name": f"Patient {n}", "district": "Gulu", "note": secret or "ok"}
            for n in range(count)]  # fmt: skip


def body_of(db, dataclip_id):
    return db.session.get(Dataclip, dataclip_id).body


@pytest.fixture
def parsed_in_worker(monkeypatch):
    """The sizes of the large states the worker parsed (the sandbox child parses its own)."""
    sizes = []
    parse = JsonText.parsed

    def counted(self):
        sizes.append(self.size)
        return parse(self)

    monkeypatch.setattr(JsonText, "parsed", counted)
    return sizes


def test_a_large_state_goes_through_two_steps_unparsed(
    db, client, user, executor, parsed_in_worker
):
    workflow = factories.workflow(factories.project(user), TWO_STEPS.replace("{credential}", ""))
    sent = records(4000)
    run_id = start_run(client, workflow.triggers[0].id, sent)
    executor.execute(run_id)
    run = db.session.get(Run, run_id)
    steps = steps_of(db, run_id)
    assert steps["count"].exit_reason.value == "success"
    counted = body_of(db, steps["count"].output_dataclip_id)
    assert counted["data"] == {"records": sent, "count": 4000}
    assert counted["request"]["method"] == "POST"
    assert steps["pass on"].input_dataclip_id == steps["count"].output_dataclip_id
    assert body_of(db, steps["pass on"].output_dataclip_id) == counted
    # The other branch failed on the same large input: its error is in its output state.
    broken = steps["broken"]
    assert broken.exit_reason.value == "failed" and run.state.value == "failed"
    errors = body_of(db, broken.output_dataclip_id)["errors"]
    assert "no such key" in errors[str(broken.step_id)]["message"]
    # Only there, to add its error, was a large state parsed in the worker.
    assert len(parsed_in_worker) == 1


def test_a_credential_value_in_a_large_state_is_masked_when_stored(db, client, user, executor):
    project = factories.project(user)
    credential = make_credential(user)
    sharing.share(user, credential.id, project.id)
    source = TWO_STEPS.replace("{credential}", "credential: DHIS2 test")
    workflow = factories.workflow(project, source)
    # The source system sent the password itself: no step masks it, the executor does.
    run_id = start_run(client, workflow.triggers[0].id, records(3000, secret=SECRET))
    executor.execute(run_id)
    steps = steps_of(db, run_id)
    counted = body_of(db, steps["count"].output_dataclip_id)
    assert len(str(counted)) > RAW_ABOVE_BYTES
    assert {record["note"] for record in counted["data"]["records"]} == {"***"}
    passed = body_of(db, steps["pass on"].output_dataclip_id)
    assert "configuration" not in passed and SECRET not in str(passed)
    rows = db.session.scalars(select(StepRun).where(StepRun.run_id == run_id)).all()
    assert len(rows) == 3
