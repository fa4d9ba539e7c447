"""A run's writes: step outcomes (alone or with the next write), the run's end, heartbeats."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import select, update

from app.models import Dataclip, LogLine, Run, RunState, StepExitReason, StepRun, WorkOrder
from app.models.base import utcnow
from app.services.runs import claims, lifecycle
from tests import factories


def claimed_run(client, user) -> tuple[claims.ClaimedRun, dict]:
    """A started run of a one-step workflow, and that step as the executor sees it."""
    workflow = factories.workflow(factories.project(user))
    step = {"id": str(workflow.steps[0].id), "name": workflow.steps[0].name}
    response = client.post(f"/i/{workflow.triggers[0].id}", json={"n": 1})
    run = claims.claim(uuid.UUID(response.get_json()["run_id"]), "worker:1")
    assert run is not None
    return run, step


def outcome(step_run_id, step, **fields) -> lifecycle.StepOutcome:
    values = {
        "exit_reason": StepExitReason.SUCCESS,
        "output_state": {"data": {"n": 2}},
        "error": None,
        "logs": [{"level": "info", "source": "job", "message": "hello", "timestamp": 1.5e9}],
    }
    return lifecycle.StepOutcome(step_run_id, step["id"], **{**values, **fields})


def test_a_step_outcome_travels_with_the_run_end(db, client, user):
    run, step = claimed_run(client, user)
    step_run_id = lifecycle.begin_step(run, step, run.dataclip_id)
    row = db.session.get(StepRun, step_run_id)
    assert row.input_dataclip_id == run.dataclip_id and row.finished_at is None
    done = outcome(step_run_id, step)
    lifecycle.finish(run, RunState.SUCCESS, last_step=done, final_dataclip_id=done.output_id)
    db.session.refresh(row)
    assert row.exit_reason is StepExitReason.SUCCESS and row.output_dataclip_id == done.output_id
    assert db.session.get(Dataclip, done.output_id).body == {"data": {"n": 2}}
    line = db.session.scalars(select(LogLine).where(LogLine.step_run_id == step_run_id)).one()
    assert (line.level.value, line.source.value, line.message) == ("info", "job", "hello")
    assert line.timestamp.timestamp() == 1.5e9
    finished = db.session.get(Run, run.id)
    db.session.refresh(finished)
    assert finished.state is RunState.SUCCESS and finished.final_dataclip_id == done.output_id
    assert db.session.get(WorkOrder, run.work_order_id).state.value == "success"


def test_a_step_outcome_travels_with_the_next_step_start(db, client, user):
    run, step = claimed_run(client, user)
    first = lifecycle.begin_step(run, step, run.dataclip_id)
    failed = outcome(
        first, step, exit_reason=StepExitReason.FAILED, error={"type": "E" * 150, "message": "m"}
    )
    second = lifecycle.begin_step(run, step, failed.output_id, after=failed)
    rows = {r.id: r for r in db.session.scalars(select(StepRun).where(StepRun.run_id == run.id))}
    assert rows[first].exit_reason is StepExitReason.FAILED
    assert rows[first].error_type == "E" * 100, "cut to the column's length"
    assert rows[second].input_dataclip_id == failed.output_id
    assert rows[second].finished_at is None


def test_a_run_stopped_mid_step_closes_its_open_steps(db, client, user):
    run, step = claimed_run(client, user)
    step_run_id = lifecycle.begin_step(run, step, run.dataclip_id)
    lifecycle.finish(
        run,
        RunState.LOST,
        error_type="WorkerStopped",
        error_message="The worker was stopped during the run.",
        open_steps_end=StepExitReason.LOST,
    )
    row = db.session.get(StepRun, step_run_id)
    assert row.exit_reason is StepExitReason.LOST and row.finished_at is not None


def test_heartbeats_refresh_open_runs_only(db, client, user):
    run, _ = claimed_run(client, user)
    other, _ = claimed_run(client, user)
    long_ago = utcnow() - timedelta(hours=1)
    db.session.execute(
        update(Run).where(Run.id.in_([run.id, other.id])).values(heartbeat_at=long_ago)
    )
    lifecycle.finish(other, RunState.SUCCESS)
    lifecycle.heartbeat([run.id, other.id])
    beats = dict(db.session.execute(select(Run.id, Run.heartbeat_at)).all())
    assert beats[run.id] > long_ago
    assert beats[other.id] == long_ago
    assert lifecycle.mark_lost(timedelta(minutes=1)) == []


NUL_LINE = {"level": "info", "source": "job", "message": "id\x00 7", "timestamp": 1.5e9}


def test_nul_in_a_step_outcome_is_stored_escaped_in_output_logs_and_error(db, client, user):
    run, step = claimed_run(client, user)
    step_run_id = lifecycle.begin_step(run, step, run.dataclip_id)
    done = outcome(
        step_run_id,
        step,
        exit_reason=StepExitReason.FAILED,
        output_state={"data": {"k\x00": ["v\x00", {"deep\x00": 1}]}, "n": 3},
        error={"type": "Bad\x00Type", "message": "row\x00 9"},
        logs=[NUL_LINE],
    )
    lifecycle.finish(
        run, RunState.FAILED, last_step=done, error_type="E\x00", error_message="m\x00"
    )
    body = db.session.get(Dataclip, done.output_id).body
    assert body == {"data": {"k\\u0000": ["v\\u0000", {"deep\\u0000": 1}]}, "n": 3}
    line = db.session.scalars(select(LogLine).where(LogLine.step_run_id == step_run_id)).one()
    assert line.message == "id\\u0000 7"
    row = db.session.get(StepRun, step_run_id)
    assert (row.error_type, row.error_message) == ("Bad\\u0000Type", "row\\u0000 9")
    finished = db.session.get(Run, run.id)
    db.session.refresh(finished)
    assert (finished.state, finished.error_type, finished.error_message) == (
        RunState.FAILED,
        "E\\u0000",
        "m\\u0000",
    )


def test_an_escaped_error_type_still_fits_its_column(db, client, user):
    run, step = claimed_run(client, user)
    step_run_id = lifecycle.begin_step(run, step, run.dataclip_id)
    failed = outcome(
        step_run_id, step, exit_reason=StepExitReason.FAILED, error={"type": "\x00" * 99}
    )
    lifecycle.finish_step(run, failed)
    assert db.session.get(StepRun, step_run_id).error_type == ("\\u0000" * 17)[:100]


def test_text_that_only_looks_like_an_escape_is_stored_as_sent(db, client, user):
    run, step = claimed_run(client, user)
    step_run_id = lifecycle.begin_step(run, step, run.dataclip_id)
    sent = {"data": {"pattern": "\\u0000", "\\u0000": "key"}}
    done = outcome(step_run_id, step, output_state=sent)
    lifecycle.finish_step(run, done)
    assert db.session.get(Dataclip, done.output_id).body == sent
