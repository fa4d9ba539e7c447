"""A project's run limits in real runs (the executor in-process, the real fork-server
sandbox): the run time limit and memory per step stop a run with a message that names the
limit and where to change it, shown on the run page; a project that keeps no log output
stores none but one note, while errors are still shown."""

from __future__ import annotations

import uuid
from html import unescape

from sqlalchemy import select

from app.models import LogLine, Run, StepRun
from app.services import project_limits
from app.services.runs.plain_errors import explain
from tests import factories
from tests.support import log_in
from tests.workers.test_executor import start_run, steps_of

NO_LIMITS = {"run_timeout_s": "", "step_memory_mb": "", "max_payload_kb": ""}

ONE_STEP = """
name: {name}
triggers:
  hook:
    type: webhook
jobs:
  work:
    name: work
    adaptor: common@1
    body: |
{body}
edges:
  hook->work:
    source_trigger: hook
    target_job: work
"""
SPIN = """
def spin(state):
    while True:
        pass

fn(spin)
"""
# 200 MB: far beyond a 64 MB step, well within the default 512 MB.
GREEDY = 'fn(lambda state: {**state, "data": len("x" * (200 * 1024 * 1024))})'
CHATTY = """
log("patient", S.data["name"])

@fn
def note(state):
    print("printed", state["data"]["name"])
    return {**state, "data": {"seen": True}}
"""
FAILING = """
log("about to fail for", S.data["name"])
assert_(lambda state: False, "The record has no NHI")
"""


def workflow(project, body: str, name: str = "Limited"):
    """A one-step workflow whose step runs `body`; returns its webhook trigger's id."""
    indented = "\n".join("      " + line for line in body.strip().splitlines())
    source = ONE_STEP.format(name=name, body=indented)
    return factories.workflow(project, source).triggers[0].id


def limit(user, project, discard_logs: bool = False, **values: str) -> None:
    project_limits.update_limits(user, project.id, {**NO_LIMITS, **values}, discard_logs)


def run_page(app, user, project, run_id: uuid.UUID) -> str:
    client = app.test_client()
    assert log_in(client, user.email, factories.PASSWORD).status_code == 302
    reply = client.get(f"/projects/{project.id}/runs/{run_id}")
    assert reply.status_code == 200
    return unescape(reply.get_data(as_text=True))


def test_the_run_time_limit_stops_the_run_naming_the_limit_and_where_to_change_it(
    app, db, client, user, executor
):
    project = factories.project(user, "Slow project")
    limit(user, project, run_timeout_s="1")
    run_id = start_run(client, workflow(project, SPIN), {})
    executor.execute(run_id)
    run = db.session.get(Run, run_id)
    assert run.state.value == "killed"
    assert (run.finished_at - run.started_at).total_seconds() < 5  # not the default 300 s
    assert "time limit of 1 s" in run.error_message
    work = steps_of(db, run_id)["work"]
    assert work.exit_reason.value == "killed" and work.error_message == run.error_message
    page = run_page(app, user, project, run_id)
    assert "The run took longer than its time limit of 1 s and was stopped." in page
    assert "raise the run time limit in the project's Settings, under Run limits" in page
    assert "at most 3600 s on this server" in page


def test_without_a_project_limit_the_instance_default_applies(db, client, user, executor):
    project = factories.project(user, "Default project")
    assert executor.settings.run_timeout_s == 300
    run_id = start_run(client, workflow(project, 'fn(lambda state: {**state, "data": 1})'), {})
    executor.execute(run_id)
    assert db.session.get(Run, run_id).state.value == "success"


def test_time_running_out_between_steps_reads_as_the_run_time_limit():
    message = "The run took longer than its time limit of 90 s and was stopped."
    error = {"type": "RunTimeout", "message": message}
    plain = explain(error)
    assert plain.code == "run_time_limit"
    assert plain.sentence == "The run took longer than its time limit of 90 s and was stopped."


def test_memory_per_step_stops_a_greedy_step_naming_the_projects_limit(
    app, db, client, user, executor
):
    project = factories.project(user, "Greedy project")
    limit(user, project, step_memory_mb="64")
    run_id = start_run(client, workflow(project, GREEDY), {})
    executor.execute(run_id)
    run = db.session.get(Run, run_id)
    assert run.state.value == "killed"
    work = steps_of(db, run_id)["work"]
    assert work.exit_reason.value == "killed" and "64 MB" in work.error_message
    page = run_page(app, user, project, run_id)
    assert "The step used more than 64 MB of memory and was stopped." in page
    assert "raise the memory per step in the project's Settings, under Run limits" in page


def test_a_project_that_keeps_no_logs_stores_only_a_note(db, client, user, executor):
    project = factories.project(user, "Private project")
    limit(user, project, discard_logs=True)
    run_id = start_run(client, workflow(project, CHATTY), {"name": "Jane Roe"})
    executor.execute(run_id)
    assert db.session.get(Run, run_id).state.value == "success"
    lines = db.session.scalars(select(LogLine).where(LogLine.run_id == run_id)).all()
    assert [(line.source.value, line.message) for line in lines] == [
        ("runtime", project_limits.NOT_KEPT)
    ]
    assert lines[0].step_run_id == steps_of(db, run_id)["work"].id


def test_without_the_setting_the_same_job_keeps_its_logs(db, client, user, executor):
    project = factories.project(user, "Open project")
    run_id = start_run(client, workflow(project, CHATTY), {"name": "Jane Roe"})
    executor.execute(run_id)
    messages = db.session.scalars(select(LogLine.message).where(LogLine.run_id == run_id)).all()
    assert "patient Jane Roe" in messages and project_limits.NOT_KEPT not in messages
    assert any("printed Jane Roe" in message for message in messages)


def test_errors_are_still_shown_when_no_logs_are_kept(app, db, client, user, executor):
    project = factories.project(user, "Private failures")
    limit(user, project, discard_logs=True)
    run_id = start_run(client, workflow(project, FAILING), {"name": "Jane Roe"})
    executor.execute(run_id)
    run = db.session.get(Run, run_id)
    assert run.state.value == "failed" and "The record has no NHI" in run.error_message
    messages = db.session.scalars(select(LogLine.message).where(LogLine.run_id == run_id)).all()
    assert messages == [project_limits.NOT_KEPT]
    step: StepRun = steps_of(db, run_id)["work"]
    assert "The record has no NHI" in step.error_message
    page = run_page(app, user, project, run_id)
    assert "A check in the job failed: The record has no NHI" in page
    assert "about to fail for Jane Roe" not in page
