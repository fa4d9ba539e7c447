"""What needs a stored body is refused with a sentence for a zero-persistence project: a
retry from a step, a run with a saved input, saving an input, searching in inputs. A typed
input still runs: its row keeps no body, Redis holds it for the run."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from app.extensions import redis_client
from app.models import Dataclip, Run, RunState, Step, StepRun
from app.services import zero_persistence
from app.services.errors import Invalid
from app.services.runs import commands, dataclips
from app.services.runs.dataclips import InputClip
from app.services.studio import run_panel
from app.services.zero_persistence import transient
from tests import factories

ONE_STEP = """
name: One step
triggers:
  hook:
    type: webhook
jobs:
  greet:
    name: greet
    adaptor: common@1
    body: |
      fn(lambda state: state)
edges:
  hook->greet:
    source_trigger: hook
    target_job: greet
"""


@pytest.fixture
def workflow(db, project):
    project.zero_persistence = True
    db.session.commit()
    return factories.workflow(project, ONE_STEP)


def test_a_typed_input_is_held_in_redis_and_its_row_keeps_no_body(db, user, project, workflow):
    run = commands.start_manual_run(
        workflow.id, project_id=project.id, actor_id=user.id, custom_input={"data": {"n": 7}}
    )
    clip = db.session.get(Dataclip, run.dataclip_id)
    assert clip.not_stored and clip.body is None and clip.raw_body is None
    assert dataclips.input_state(clip.id, InputClip(clip.type, None, None, None, None, None, True))[
        "data"
    ] == {"n": 7}
    transient.forget([clip.id])


def test_a_lost_input_says_why_in_plain_words(db):
    lost = InputClip("http_request", None, None, None, None, None, True)
    with pytest.raises(Invalid) as refused:
        dataclips.input_state(uuid.uuid4(), lost)
    assert refused.value.message == zero_persistence.INPUT_LOST
    assert "zero persistence" in refused.value.message and "lost" in refused.value.message


def test_a_retry_from_a_step_is_refused(db, user, project, workflow):
    run = commands.start_manual_run(workflow.id, project_id=project.id, actor_id=user.id)
    run.state = RunState.SUCCESS
    step_id = db.session.scalar(select(Step.id).where(Step.workflow_id == workflow.id))
    db.session.add(StepRun(run_id=run.id, step_id=step_id, step_name="greet"))
    db.session.commit()
    with pytest.raises(Invalid) as refused:
        commands.retry_run(run.id, project_id=project.id, actor_id=user.id, step_id=step_id)
    assert refused.value.message == zero_persistence.NO_STEP_RETRY


def test_a_retry_of_a_run_whose_input_was_not_stored_is_refused(db, user, project, workflow):
    run = commands.start_manual_run(
        workflow.id, project_id=project.id, actor_id=user.id, custom_input={"data": {}}
    )
    run.state = RunState.SUCCESS
    db.session.commit()
    project.zero_persistence = False  # even once it is off again: the body does not exist
    db.session.commit()
    with pytest.raises(Invalid) as refused:
        commands.retry_run(run.id, project_id=project.id, actor_id=user.id)
    assert refused.value.message == zero_persistence.NO_RETRY
    assert (
        db.session.scalar(select(Run.id).where(Run.id != run.id, Run.project_id == project.id))
        is None
    )


def test_saved_inputs_are_neither_saved_nor_used(db, user, project, workflow):
    with pytest.raises(Invalid) as refused:
        run_panel.save_input(project.id, "Sample patient", custom_text='{"data": {}}')
    assert refused.value.message == zero_persistence.NO_SAVED_INPUTS
    old = Dataclip(project_id=project.id, type="saved_input", body={"data": 1}, name="Old")
    db.session.add(old)
    db.session.commit()
    with pytest.raises(Invalid) as refused:
        run_panel.start_run(workflow.id, project.id, user.id, source="stored", dataclip_id=old.id)
    assert refused.value.message == zero_persistence.NO_SAVED_INPUTS


def test_the_held_input_is_deleted_when_forgotten(db, user, project, workflow):
    run = commands.start_manual_run(
        workflow.id, project_id=project.id, actor_id=user.id, custom_input={"data": {}}
    )
    key = f"ferry:zp:body:{run.dataclip_id}"
    assert 0 < redis_client().ttl(key) <= transient.BODY_TTL_S
    transient.forget([run.dataclip_id])
    assert redis_client().exists(key) == 0
