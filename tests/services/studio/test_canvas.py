"""The Studio's services: list statistics, saving the canvas, checks, the request builder and
the run panel's inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.datastructures import MultiDict

from app.models import Dataclip, DataclipType, Run, RunState, WorkOrder
from app.services.errors import Conflict, Invalid
from app.services.studio import canvas as studio
from app.services.studio import checks as studio_checks
from app.services.studio import reopen, request_builder, run_panel
from app.services.workflows import export, snapshots, store
from tests import factories
from tests import history_factories as hf

TWO_STEPS = """
name: {name}
triggers:
  webhook:
    type: webhook
jobs:
  shape:
    name: Shape record
    adaptor: common@1
    body: "fn(lambda state: state)"
  send:
    name: Send
    adaptor: http@1
    body: 'post("https://example.org/records", body=S.data)'
edges:
  webhook->shape:
    source_trigger: webhook
    target_job: shape
  shape->send:
    source_job: shape
    target_job: send
    condition_type: on_job_success
"""


@pytest.fixture
def project(db, user):
    return factories.project(user)


def _run(db, workflow, state: RunState, at: datetime) -> Run:
    snapshot = snapshots.latest_snapshot(workflow.id)
    order = WorkOrder(
        project_id=workflow.project_id, workflow_id=workflow.id, snapshot_id=snapshot.id
    )
    db.session.add(order)
    db.session.flush()
    run = Run(
        work_order_id=order.id,
        project_id=workflow.project_id,
        workflow_id=workflow.id,
        snapshot_id=snapshot.id,
        state=state,
        inserted_at=at,
    )
    db.session.add(run)
    db.session.commit()
    return run


def test_list_rows_count_runs_and_failures_of_the_last_seven_days(db, project):
    busy = factories.workflow(project, name="Busy")
    quiet = factories.workflow(project, name="Quiet")
    now = datetime.now(UTC)
    _run(db, busy, RunState.SUCCESS, now - timedelta(days=10))  # too old to count
    _run(db, busy, RunState.FAILED, now - timedelta(days=2))
    _run(db, busy, RunState.CRASHED, now - timedelta(hours=5))
    _run(db, busy, RunState.SUCCESS, now - timedelta(minutes=3))
    rows = {row.workflow.name: row for row in studio.workflow_rows(project.id, now)}
    assert rows["Busy"].runs_7d == 3
    assert rows["Busy"].failures_7d == 2
    assert rows["Busy"].last_state == "success"
    assert rows["Busy"].trigger_types == ["webhook"]
    assert rows["Busy"].enabled is True
    assert rows["Quiet"].last_state is None and rows["Quiet"].runs_7d == 0
    assert quiet.id == rows["Quiet"].workflow.id


SCHEDULED = """
name: {name}
triggers:
  nightly:
    type: cron
    cron_expression: "0 2 * * *"
    enabled: false
jobs:
  shape:
    name: Shape
    adaptor: common@1
    body: "fn(lambda state: state)"
edges:
  nightly->shape:
    source_trigger: nightly
    target_job: shape
"""


def test_overview_summaries_come_from_one_statement(db, project):
    from sqlalchemy import event

    hooked = store.get_workflow(factories.workflow(project, name="Hooked").id)
    factories.workflow(project, SCHEDULED.format(name="Nightly"))
    factories.workflow(project, "name: Manual only")
    earlier = hf.work_order(hooked, state="success", received=hf.at(days_ago=1))
    latest = hf.work_order(hooked, state="failed", received=hf.at(minutes_ago=5))
    assert earlier.inserted_at < latest.inserted_at
    project_id = project.id  # (reading it after a commit is a query of its own)
    statements = []

    def count(*args):
        statements.append(args[2])

    engine = db.session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        rows = studio.workflow_summaries(project_id)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1, statements
    assert [row.name for row in rows] == ["Hooked", "Manual only", "Nightly"]
    by_name = {row.name: row for row in rows}
    assert by_name["Hooked"].trigger_types == ("webhook",)
    assert by_name["Hooked"].enabled is True
    assert by_name["Hooked"].last_state == "failed"  # the newest work order, not the first
    assert by_name["Hooked"].last_activity_at == latest.last_activity_at
    assert by_name["Nightly"].trigger_types == ("cron",)
    assert by_name["Nightly"].enabled is False
    assert by_name["Nightly"].last_state is None
    assert by_name["Manual only"].trigger_types == ()


def test_new_workflow_refuses_a_duplicate_name(db, project):
    studio.new_workflow(project.id, "Patient sync", None)
    with pytest.raises(Invalid) as caught:
        studio.new_workflow(project.id, "Patient sync", None)
    assert caught.value.field == "name"
    assert "already has a workflow named" in caught.value.message


def test_rename_and_switch_off_keep_the_graph(db, project):
    workflow = factories.workflow(project, TWO_STEPS.format(name="Old name"))
    renamed = studio.rename_workflow(workflow.id, project.id, "New name", None)
    assert renamed.name == "New name" and len(renamed.edges) == 2
    off = studio.set_enabled(workflow.id, project.id, False, None)
    assert [t.enabled for t in off.triggers] == [False]


def test_save_canvas_takes_a_snapshot_keeps_positions_and_refuses_a_stale_version(db, project):
    workflow = factories.workflow(project, TWO_STEPS.format(name="Canvas"))
    document = export.export_document(workflow)
    document["jobs"]["send"]["name"] = "Send to API"
    positions = {"job:send": {"x": 10.26, "y": 20}}
    saved = studio.save_canvas(workflow.id, project.id, document, positions, 1, None)
    assert saved.lock_version == 2
    assert saved.positions == {"job:send": {"x": 10.3, "y": 20.0}}
    assert snapshots.latest_snapshot(workflow.id).lock_version == 2
    # Someone who opened version 1 cannot overwrite version 2.
    with pytest.raises(Conflict) as caught:
        studio.save_canvas(workflow.id, project.id, document, {}, 1, None)
    assert "Someone else saved this workflow" in caught.value.message


def test_save_canvas_names_the_step_without_an_adaptor(db, project):
    workflow = factories.workflow(project, TWO_STEPS.format(name="Broken"))
    document = export.export_document(workflow)
    document["jobs"]["send"]["adaptor"] = ""
    with pytest.raises(Invalid) as caught:
        studio.save_canvas(workflow.id, project.id, document, {}, 1, None)
    assert caught.value.field == "jobs.send.adaptor"
    assert caught.value.message == "This step needs an adaptor: choose one, e.g. http@1."


def test_validate_canvas_reports_every_problem_with_its_path(db, project):
    document = {
        "name": "Checks",
        "triggers": {"webhook": {"type": "webhook"}},
        "jobs": {
            "a": {"name": "A", "adaptor": "http@1", "body": ""},
            "b": {"name": "", "adaptor": "", "body": ""},
            "lonely": {"name": "Lonely", "adaptor": "http@1", "body": ""},
        },
        "edges": {
            "webhook->a": {"source_trigger": "webhook", "target_job": "a"},
            "a->b": {
                "source_job": "a",
                "target_job": "b",
                "condition_type": "expression",
                "condition_expression": "len(state['data'] >",
            },
            "b->a": {"source_job": "b", "target_job": "a"},
        },
    }
    problems = {p.path: p for p in studio_checks.validate_canvas(project.id, document)}
    assert problems["jobs.b.name"].message == "A step needs a name."
    assert problems["jobs.b.adaptor"].message == (
        "This step needs an adaptor: choose one, e.g. http@1."
    )
    assert "not a valid Python expression" in problems["edges.a->b.condition_expression"].message
    assert "cycle" in problems["edges.b->a"].message
    assert "cycle" in problems["edges.a->b"].message
    assert problems["jobs.lonely"].level == "warning"
    assert "Nothing leads to this step" in problems["jobs.lonely"].message


def test_cron_preview_gives_five_times_or_a_clear_error(db):
    now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday
    ticks = studio.cron_preview("30 6 * * 1", "UTC", now)
    assert [t.day for t in ticks] == [9, 16, 23, 30, 6]
    with pytest.raises(Invalid) as caught:
        studio.cron_preview("61 * * * *", "UTC", now)
    assert "is not a valid cron expression" in caught.value.message


@pytest.mark.parametrize("zone", ["Africa", "Nowhere/City", "../etc", "UTC\x00"])
def test_cron_preview_names_an_unknown_time_zone(db, zone):
    """A folder of zones ("Africa") is not a zone: it once crashed the preview."""
    with pytest.raises(Invalid) as caught:
        studio.cron_preview("0 2 * * *", zone)
    assert caught.value.field == "cron_timezone"
    assert "is not a time zone. Choose one from the list" in caught.value.message


def test_request_builder_writes_an_each_post_line_and_reads_it_back():
    form = MultiDict(
        [
            ("path-mode", "text"),
            ("path-value", "https://example.org/records"),
            ("body-mode", "fields"),
            ("body-key", "name"),
            ("body-rowmode", "input"),
            ("body-rowvalue", "data.name"),
            ("body-key", "first name"),
            ("body-rowmode", "input"),
            ("body-rowvalue", "data.first name"),
            ("body-key", "count"),
            ("body-rowmode", "number"),
            ("body-rowvalue", "3"),
            ("headers-mode", "fields"),
            ("headers-key", "X-Source"),
            ("headers-rowmode", "text"),
            ("headers-rowvalue", "ferry"),
            ("timeout-mode", "number"),
            ("timeout-value", ""),
            ("each", "data"),
        ]
    )
    line = request_builder.line_from_form("http@1", "post", form)
    # Too long for one line: laid out one argument per line (code_format).
    assert line == (
        "each(\n"
        "    S.data,\n"
        "    post(\n"
        '        "https://example.org/records",\n'
        '        body={"name": S.data.name, "first name": S.data["first name"], "count": 3},\n'
        '        headers={"X-Source": "ferry"},\n'
        "    ),\n"
        ")"
    )
    reopened = reopen.parse_line("http@1", line)
    assert reopened.operation == "post" and reopened.each == "data"
    assert reopened.values["path"].value == "https://example.org/records"
    assert reopened.values["body"].rows[1] == {
        "key": "first name",
        "mode": "input",
        "value": "data.first name",
    }
    assert reopened.values["headers"].rows == [
        {"key": "X-Source", "mode": "text", "value": "ferry"}
    ]


def test_request_builder_names_the_missing_required_parameter():
    with pytest.raises(Invalid) as caught:
        request_builder.line_from_form("dhis2@1", "create", MultiDict([("resource-value", "")]))
    assert caught.value.field == "resource"
    with pytest.raises(Invalid) as caught:
        reopen.parse_line("http@1", "x = 1")
    assert caught.value.field == "line"


def test_saved_inputs_are_named_and_offered_with_recent_run_inputs(db, project):
    workflow = factories.workflow(project, TWO_STEPS.format(name="Inputs"))
    clip = run_panel.save_input(project.id, "Two patients", custom_text='{"data": [1, 2]}')
    assert clip.type is DataclipType.SAVED_INPUT and clip.body == {"data": [1, 2]}
    with pytest.raises(Invalid) as caught:
        run_panel.save_input(project.id, "Two patients", custom_text="{}")
    assert caught.value.field == "name"
    with pytest.raises(Invalid) as caught:
        run_panel.save_input(project.id, "Broken", custom_text="{not json")
    assert "not valid JSON" in caught.value.message
    with pytest.raises(Invalid) as caught:  # once a RecursionError, shown as a bare 500
        run_panel.save_input(project.id, "Deep", custom_text='{"a":' + "[" * 100_000)
    assert caught.value.field == "input" and "nested too deeply" in caught.value.message
    request_clip = Dataclip(
        project_id=project.id, type=DataclipType.HTTP_REQUEST, body={"name": "Ada"}, request={}
    )
    db.session.add(request_clip)
    db.session.commit()
    run = _run(db, workflow, RunState.SUCCESS, datetime.now(UTC))
    run.dataclip_id = request_clip.id
    db.session.commit()
    choices = run_panel.input_choices(workflow.id, project.id)
    assert [c.label for c in choices["saved"]] == ["Two patients"]
    assert [c.dataclip_id for c in choices["recent"]] == [request_clip.id]
    assert run_panel.input_paths(workflow.id, project.id) == ["data", "data.name"]
    copy = run_panel.save_input(project.id, "From webhook", dataclip_id=request_clip.id)
    assert copy.body == {"data": {"name": "Ada"}, "request": {}}


def test_progress_reports_each_step_state(db, project):
    workflow = factories.workflow(project, TWO_STEPS.format(name="Progress"))
    run = run_panel.start_run(
        workflow.id, project.id, None, source="custom", custom_text='{"data": {"n": 1}}'
    )
    progress = run_panel.progress(run.id, project.id)
    assert progress["state"] == "available" and progress["final"] is False
    assert progress["steps"] == {}
    # Parked for an automatic retry (a resume point and a due time): said so, still open.
    run.resume, run.available_at = {"pending": []}, datetime.now(UTC) + timedelta(seconds=30)
    db.session.commit()
    progress = run_panel.progress(run.id, project.id)
    assert progress["state"] == "waiting to retry" and progress["final"] is False
    with pytest.raises(Invalid) as caught:
        run_panel.start_run(workflow.id, project.id, None, source="custom", custom_text="[1]")
    assert caught.value.message.startswith("The input must be a JSON object")


def test_the_canvas_check_and_saving_say_the_same_thing_about_a_mistake(db, project):
    workflow = factories.workflow(project, TWO_STEPS.format(name="Same words"))
    document = export.export_document(workflow)
    document["edges"]["shape->send"]["condition_label"] = {"a": 1}
    document["jobs"]["send"]["credential"] = "Nowhere"
    document["concurrency"] = 10**30
    problems = studio_checks.validate_canvas(project.id, document)
    assert [(p.path, p.level) for p in problems] == [
        ("concurrency", "error"),
        ("edges.shape->send.condition_label", "error"),
        ("jobs.send.credential", "error"),
    ]
    assert problems[1].message == "The condition label must be text, not a mapping."
    assert problems[2].message == "No credential named 'Nowhere' is shared into this project."
    with pytest.raises(Invalid) as caught:
        studio.save_canvas(workflow.id, project.id, document, {}, 1, None)
    assert (caught.value.field, caught.value.message) == (problems[0].path, problems[0].message)
    assert [p.path for p in caught.value.problems] == [p.path for p in problems]
    assert store.get_workflow(workflow.id).lock_version == 1


def test_the_canvas_check_survives_a_deeply_nested_document(db, project):
    document = {"name": "Deep", "jobs": {}}
    node = document["jobs"]
    for _ in range(200):
        node["x"] = {}
        node = node["x"]
    problems = studio_checks.validate_canvas(project.id, document)
    assert [p.path for p in problems] == [""]
    assert "nested too deeply" in problems[0].message
