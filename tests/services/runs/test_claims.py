"""Claiming runs: one owner per run, caps and arrival order, and what a claim hands over."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import update

from app.models import Run, RunState, WorkOrder
from app.models.base import utcnow
from app.services.runs import claims, dataclips, lifecycle
from tests import factories

# The factories' one-step workflow, run one at a time.
CAPPED = factories.SIMPLE_WORKFLOW.replace("triggers:", "concurrency: 1\ntriggers:", 1)


def post(client, trigger_id, body: object = None) -> uuid.UUID:
    """Queue a run through the webhook; returns its id."""
    response = client.post(f"/i/{trigger_id}", json=body if body is not None else {"n": 1})
    assert response.status_code == 200, response.get_data(as_text=True)
    return uuid.UUID(response.get_json()["run_id"])


def test_a_claim_starts_the_run_and_hands_over_its_input_and_allowlist(db, client, user):
    project = factories.project(user)
    project.egress_allowlist = ["10.2.0.0/16"]
    db.session.commit()
    trigger_id = factories.workflow(project).triggers[0].id
    run_id = post(client, trigger_id, {"patient": 42})
    claimed = claims.claim(run_id, "worker:1")
    assert claimed is not None and claimed.id == run_id and not claimed.capped
    assert claimed.egress_allow == ("10.2.0.0/16",)
    assert dataclips.state_of(claimed.input_clip)["data"] == {"patient": 42}
    run = db.session.get(Run, run_id)
    db.session.refresh(run)
    assert run.state is RunState.STARTED and run.worker_name == "worker:1"
    assert run.claimed_at == run.started_at == run.heartbeat_at
    assert db.session.get(WorkOrder, run.work_order_id).state.value == "running"
    assert claims.claim(run_id, "worker:2") is None, "a run has one owner"


def test_the_allowlist_is_read_at_each_claim(db, client, user):
    project = factories.project(user)
    trigger_id = factories.workflow(project).triggers[0].id
    first, second = post(client, trigger_id), post(client, trigger_id)
    assert claims.claim(first, "worker:1").egress_allow == ()
    project.egress_allowlist = ["dhis2.lan"]
    db.session.commit()
    assert claims.claim(second, "worker:1").egress_allow == ("dhis2.lan",)


def test_a_capped_workflow_claims_in_arrival_order_and_holds_the_rest(db, client, user):
    trigger_id = factories.workflow(factories.project(user), CAPPED.format(name="Serial"))
    trigger_id = trigger_id.triggers[0].id
    first, second = post(client, trigger_id), post(client, trigger_id)
    # In the test's one transaction both rows get its start time: set arrival, well before
    # that (a loaded machine may take seconds between the transaction's start and here).
    db.session.execute(
        update(Run).where(Run.id == first).values(inserted_at=utcnow() - timedelta(hours=1))
    )
    claimed = claims.claim(second, "worker:1")
    assert claimed.id == first and claimed.capped, "the earlier run goes first"
    assert claims.claim(second, "worker:2") is None, "the cap is reached"
    assert claims.waiting_runs_after(claimed) == [second]
    lifecycle.finish(claimed, RunState.SUCCESS)
    assert claims.claim(second, "worker:2").id == second


def test_a_claim_of_a_vanished_run_is_none(db):
    assert claims.claim(uuid.uuid4(), "worker:1") is None


def test_runs_held_back_by_a_cap_are_named_with_their_lane(db, client, user):
    """A manual run waiting behind a capped workflow is queued again in the priority lane,
    where the workers kept for it can take it."""
    workflow = factories.workflow(factories.project(user), CAPPED.format(name="Serial lanes"))
    trigger_id = workflow.triggers[0].id
    first, batch, manual = (post(client, trigger_id) for _ in range(3))
    db.session.execute(
        update(Run).where(Run.id == first).values(inserted_at=utcnow() - timedelta(hours=1))
    )
    claimed = claims.claim(first, "worker:1")
    assert claimed.id == first
    # Started by a person while the first runs: it jumps the batch run in the line.
    db.session.execute(update(Run).where(Run.id == manual).values(priority=0))
    assert claims.waiting_runs_in_lanes(claimed) == [(manual, 0), (batch, 1)]
    assert claims.waiting_runs_after(claimed) == [manual, batch]
