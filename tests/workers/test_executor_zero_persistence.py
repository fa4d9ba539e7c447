"""Runs of a zero-persistence project in the executor (real sandbox): the input comes from
Redis, outputs and log output are not stored, the held input is deleted when the run ends,
and an input lost before the run started ends it with a plain message."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from app.extensions import redis_client
from app.models import Dataclip, LogLine, Run
from app.services import project_limits, zero_persistence
from tests import factories
from tests.workers.test_executor import TWO_STEPS, start_run, steps_of


def zero_project(db, user):
    project = factories.project(user)
    project.zero_persistence = True
    db.session.commit()
    return project


def test_a_run_gets_its_input_from_redis_and_stores_no_body_or_log(db, client, user, executor):
    trigger_id = factories.workflow(zero_project(db, user), TWO_STEPS).triggers[0].id
    run_id = start_run(client, trigger_id, {"n": 21})
    run = db.session.get(Run, run_id)
    key = f"ferry:zp:body:{run.dataclip_id}"
    assert redis_client().exists(key) == 1
    executor.execute(run_id)
    db.session.refresh(run)
    assert run.state.value == "success"
    steps = steps_of(db, run_id)
    assert {name: s.exit_reason.value for name, s in steps.items()} == {
        "double": "success",
        "label": "success",
    }
    clips = [db.session.get(Dataclip, s.output_dataclip_id) for s in steps.values()]
    clips.append(db.session.get(Dataclip, run.dataclip_id))
    assert all(c.not_stored and c.body is None and c.raw_body is None for c in clips)
    assert set(clips[-1].request) == {"method", "path", "size_bytes", "not_stored"}
    lines = db.session.scalars(select(LogLine.message).where(LogLine.run_id == run_id)).all()
    assert not any("doubling" in line for line in lines)  # the job's log output is dropped
    # The note on the run says why, and where that is set.
    assert project_limits.NOT_KEPT_ZERO_PERSISTENCE in lines
    assert redis_client().exists(key) == 0  # deleted once the run no longer needs it


def test_an_input_lost_before_the_run_started_ends_it_saying_so(db, client, user, executor):
    trigger_id = factories.workflow(zero_project(db, user), TWO_STEPS).triggers[0].id
    run_id = start_run(client, trigger_id, {"n": 1})
    run = db.session.get(Run, run_id)
    redis_client().delete(f"ferry:zp:body:{run.dataclip_id}")  # as if Redis restarted
    executor.execute(run_id)
    db.session.refresh(run)
    assert (run.state.value, run.error_type) == ("exception", "InputUnavailable")
    assert run.error_message == zero_persistence.INPUT_LOST and steps_of(db, run_id) == {}


def test_a_project_without_it_stores_bodies_as_before(db, client, user, executor):
    trigger_id = factories.workflow(factories.project(user), TWO_STEPS).triggers[0].id
    run_id = start_run(client, trigger_id, {"n": 2})
    executor.execute(run_id)
    run = db.session.get(Run, run_id)
    assert db.session.get(Dataclip, run.dataclip_id).body == {"n": 2}
    assert redis_client().keys(f"ferry:zp:body:{run.dataclip_id}") == []
    assert isinstance(run.id, uuid.UUID)
