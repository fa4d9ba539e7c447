"""A run waiting for an automatic retry: not claimed, swept or reaped before its time, queued
when it is due, and steered by people (retry now, give up) only while it still waits.

The waiting run is made by the engine's own writes: a claim, a step's start, and
`lifecycle.wait_for_retry` with the failed attempt's outcome.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.extensions import PRIORITY_RUN_QUEUE, redis_client
from app.models import Run, RunState, StepExitReason, StepRun, WorkOrder
from app.models.base import utcnow
from app.services.errors import Conflict, NotFound
from app.services.notifications import alert_queue
from app.services.runs import claims, lifecycle, maintenance, retries
from app.services.runs import queue as run_queue
from tests import factories

UNAVAILABLE = {
    "type": "JobError",
    "message": "GET http://dhis2.lan/api/events returned 503 Service Unavailable: down",
    "code": "http_error",
    "details": {"status": 503, "reason": "Service Unavailable", "host": "dhis2.lan"},
}


def waiting_run(client, user, *, due_in_s: float = 60.0, owner_project=None) -> Run:
    """A webhook run whose only step failed with a 503 and waits `due_in_s` for attempt 2."""
    project = owner_project or factories.project(user)
    workflow = factories.workflow(project)
    step = {"id": str(workflow.steps[0].id), "name": workflow.steps[0].name}
    response = client.post(f"/i/{workflow.triggers[0].id}", json={"n": 1})
    run = claims.claim(uuid.UUID(response.get_json()["run_id"]), "worker:1")
    step_run_id = lifecycle.begin_step(run, step, run.dataclip_id)
    retry_at = utcnow() + timedelta(seconds=due_in_s)
    failed = lifecycle.StepOutcome(
        step_run_id,
        step["id"],
        StepExitReason.FAILED,
        output_state={"data": {"n": 1}, "errors": {step["id"]: UNAVAILABLE}},
        error=UNAVAILABLE,
        logs=[],
        retry_at=retry_at,
    )
    resume = {
        "pending": [{"step_id": step["id"], "input_id": str(run.dataclip_id), "attempt": 2}],
        "leaves": [],
        "attempts": {step["id"]: 1},
        "spent_s": 0.2,
    }
    lifecycle.wait_for_retry(run, available_at=retry_at, resume=resume, last_step=failed)
    return refreshed(run.id)


def refreshed(run_id) -> Run:
    from app.extensions import db

    run = db.session.get(Run, run_id)
    db.session.refresh(run)
    return run


def queued(run_id) -> bool:
    return bool(redis_client().exists(run_queue.job_key(run_id)))


def forget_queue_entry(run_id) -> None:
    redis_client().delete(run_queue.job_key(run_id))


def test_a_waiting_run_is_available_with_its_resume_point_and_its_work_order_pending(
    db, client, user
):
    run = waiting_run(client, user)
    assert run.state is RunState.AVAILABLE and retries.is_waiting(run)
    assert run.resume["pending"][0]["attempt"] == 2
    assert run.available_at > utcnow() + timedelta(seconds=50)
    assert db.session.get(WorkOrder, run.work_order_id).state.value == "pending"
    step = db.session.scalars(select(StepRun).where(StepRun.run_id == run.id)).one()
    assert (step.attempt, step.exit_reason, step.retry_at) == (
        1,
        StepExitReason.FAILED,
        run.available_at,
    )


def test_a_waiting_run_is_not_claimed_before_its_time_and_keeps_its_start_after(db, client, user):
    run = waiting_run(client, user)
    started_at = run.started_at
    assert claims.claim(run.id, "worker:2") is None, "not before the retry is due"
    db.session.execute(
        update(Run).where(Run.id == run.id).values(available_at=utcnow() - timedelta(seconds=1))
    )
    claimed = claims.claim(run.id, "worker:2")
    assert claimed is not None and claimed.resume["pending"][0]["attempt"] == 2
    assert refreshed(run.id).started_at == started_at, "the run began with its first attempt"


def test_the_sweeper_leaves_a_waiting_run_alone_until_it_is_due(db, client, user):
    run = waiting_run(client, user, due_in_s=600)
    old = utcnow() - timedelta(minutes=5)
    db.session.execute(update(Run).where(Run.id == run.id).values(inserted_at=old))
    db.session.commit()
    forget_queue_entry(run.id)
    maintenance.sweep()
    maintenance.queue_due_retries()
    assert not queued(run.id), "queued before its retry was due"


def test_a_due_retry_is_queued_with_the_priority_the_run_had(db, client, user):
    run = waiting_run(client, user)
    db.session.execute(
        update(Run)
        .where(Run.id == run.id)
        .values(available_at=utcnow() - timedelta(seconds=1), priority=0)
    )
    db.session.commit()
    forget_queue_entry(run.id)
    assert maintenance.queue_due_retries() >= 1
    origin = redis_client().hget(run_queue.job_key(run.id), "origin").decode()
    assert origin == PRIORITY_RUN_QUEUE
    assert maintenance.queue_due_retries() == 0, "a run already queued is not queued twice"


def test_the_reaper_never_marks_a_waiting_run_lost(db, client, user):
    run = waiting_run(client, user)
    silent = utcnow() - timedelta(hours=1)
    db.session.execute(update(Run).where(Run.id == run.id).values(heartbeat_at=silent))
    lost = lifecycle.mark_lost(timedelta(seconds=30))
    assert run.id not in lost and refreshed(run.id).state is RunState.AVAILABLE


def test_a_waiting_run_sends_no_failure_alert(db, client, user):
    run = waiting_run(client, user)
    assert not redis_client().exists(f"rq:job:{alert_queue.job_id(run.id)}")


def test_retry_now_makes_the_attempt_due_and_queues_it(db, client, user):
    run = waiting_run(client, user)
    forget_queue_entry(run.id)
    retries.retry_now(run.id, project_id=run.project_id)
    run = refreshed(run.id)
    assert run.available_at <= utcnow() and queued(run.id)
    assert claims.claim(run.id, "worker:3") is not None


def test_give_up_ends_the_run_failed_with_the_last_attempts_error(db, client, user):
    run = waiting_run(client, user)
    retries.give_up(run.id, project_id=run.project_id, actor=user)
    run = refreshed(run.id)
    assert run.state is RunState.FAILED and run.finished_at is not None
    assert (run.error_type, run.error_message) == ("JobError", UNAVAILABLE["message"])
    assert retries.given_up_by(run)[0] == user.display_name
    assert db.session.get(WorkOrder, run.work_order_id).state.value == "failed"
    step = db.session.scalars(select(StepRun).where(StepRun.run_id == run.id)).one()
    assert step.retry_at is None, "no attempt follows the last one any more"
    assert redis_client().exists(f"rq:job:{alert_queue.job_id(run.id)}"), "the failure alerts"
    assert claims.claim(run.id, "worker:2") is None


@pytest.mark.parametrize("action", ["retry_now", "give_up"])
def test_a_run_that_is_not_waiting_is_refused_with_what_it_is_doing(db, client, user, action):
    run = waiting_run(client, user)
    retries.give_up(run.id, project_id=run.project_id, actor=user)
    kwargs = {"actor": user} if action == "give_up" else {}
    with pytest.raises(Conflict) as refused:
        getattr(retries, action)(run.id, project_id=run.project_id, **kwargs)
    assert "not waiting for an automatic retry" in refused.value.message
    assert "already ended (failed)" in refused.value.message
    assert "Nothing was changed." in refused.value.message


def test_a_run_of_another_project_is_not_found(db, client, user):
    run = waiting_run(client, user)
    other = factories.project(user, "Elsewhere")
    with pytest.raises(NotFound):
        retries.retry_now(run.id, project_id=other.id)
    assert refreshed(run.id).state is RunState.AVAILABLE
