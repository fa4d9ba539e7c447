"""Workflow documents: validation errors name the exact field; export then import round-trips."""

from __future__ import annotations

import pytest
import yaml

from app.services.errors import Conflict, Invalid
from app.services.workflows import export, snapshots, store
from app.services.workflows.documents import DocumentInvalid, check_document, parse_document
from tests import factories

DOCUMENT = """
name: Patient sync
concurrency: 1
triggers:
  webhook:
    type: webhook
    enabled: true
    webhook_reply: after_completion
  nightly:
    type: cron
    cron_expression: "0 2 * * *"
    cron_timezone: Africa/Nairobi
    enabled: false
jobs:
  fetch-patients:
    name: Fetch patients
    adaptor: http@1
    credential: null
    body: |
      get("https://example.org/api/patients")
  load:
    name: Load
    adaptor: common@1
    body: |
      fn(lambda state: state)
edges:
  webhook->fetch-patients:
    source_trigger: webhook
    target_job: fetch-patients
    condition_type: always
  nightly->fetch-patients:
    source_trigger: nightly
    target_job: fetch-patients
  fetch-patients->load:
    source_job: fetch-patients
    target_job: load
    condition_type: expression
    condition_expression: "len(state['data']) > 0"
    condition_label: has patients
    enabled: true
"""


def _broken(path: str, value):
    raw = yaml.safe_load(DOCUMENT)
    node = raw
    *parents, last = path.split(".")
    for part in parents:
        node = node[part]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return raw


@pytest.mark.parametrize(
    ("path", "value", "field", "message"),
    [
        ("name", "", "name", "needs a name"),
        ("colour", "blue", "colour", "Unknown key 'colour'"),
        ("jobs.load.adaptor", "nosuch@1", "jobs.load.adaptor", "Unknown adaptor 'nosuch'"),
        ("jobs.load.adaptor", KeyError, "jobs.load.adaptor", "needs an adaptor"),
        ("jobs.load.colour", 1, "jobs.load.colour", "Unknown key"),
        (
            "triggers.nightly.cron_expression",
            "every night",
            "triggers.nightly.cron_expression",
            "valid cron expression",
        ),
        (
            "triggers.nightly.cron_timezone",
            "Mars/Olympus",
            "triggers.nightly.cron_timezone",
            "not a time zone",
        ),
        ("triggers.webhook.type", "email", "triggers.webhook.type", "not one of"),
        (
            "edges.fetch-patients->load.target_job",
            "missing",
            "edges.fetch-patients->load.target_job",
            "no job 'missing'",
        ),
        (
            "edges.fetch-patients->load.condition_expression",
            "len(state[",
            "edges.fetch-patients->load.condition_expression",
            "not a valid Python expression",
        ),
        ("concurrency", 0, "concurrency", "whole number of 1 or more"),
    ],
)
def test_validation_errors_name_the_field(path, value, field, message):
    with pytest.raises(Invalid) as caught:
        parse_document(_broken(path, value))
    assert caught.value.field == field
    assert message in caught.value.message


def test_a_cycle_is_refused():
    raw = yaml.safe_load(DOCUMENT)
    raw["edges"]["load->fetch"] = {"source_job": "load", "target_job": "fetch-patients"}
    with pytest.raises(Invalid, match="cycle") as caught:
        parse_document(raw)
    assert caught.value.field == "edges.load->fetch"


def test_unreadable_yaml_says_where():
    with pytest.raises(Invalid, match="line 3"):
        parse_document("name: x\njobs: [unclosed\n")


def test_export_then_import_gives_the_same_workflow(user, db):
    project = factories.project(user)
    created = store.create_workflow(project.id, DOCUMENT)
    exported = export.export_yaml(created)
    other_project = factories.project(user)
    again = store.create_workflow(other_project.id, exported)
    assert export.export_yaml(again) == exported
    assert yaml.safe_load(exported)["edges"]["fetch-patients->load"]["condition_label"] == (
        "has patients"
    )


def test_replace_keeps_trigger_ids_and_bumps_the_version(user, db):
    project = factories.project(user)
    created = store.create_workflow(project.id, DOCUMENT)
    webhook_id = next(t.id for t in created.triggers if t.key == "webhook")
    changed = DOCUMENT.replace("name: Load\n", "name: Load into DHIS2\n")
    replaced = store.replace_workflow(created.id, changed, expected_version=1)
    assert replaced.lock_version == 2
    assert next(t.id for t in replaced.triggers if t.key == "webhook") == webhook_id
    assert {s.name for s in replaced.steps} == {"Fetch patients", "Load into DHIS2"}
    assert snapshots.latest_snapshot(created.id).lock_version == 2


def test_saving_an_old_version_is_a_conflict(user, db):
    project = factories.project(user)
    created = store.create_workflow(project.id, DOCUMENT)
    store.replace_workflow(created.id, DOCUMENT, expected_version=1)
    with pytest.raises(Conflict, match="Someone else saved"):
        store.replace_workflow(created.id, DOCUMENT, expected_version=1)


def test_duplicate_workflow_name_is_refused(user, db):
    project = factories.project(user)
    store.create_workflow(project.id, DOCUMENT)
    with pytest.raises(Invalid, match="already has a workflow named") as caught:
        store.create_workflow(project.id, DOCUMENT)
    assert caught.value.field == "name"


def test_unknown_credential_name_is_refused(user, db):
    project = factories.project(user)
    raw = yaml.safe_load(DOCUMENT)
    raw["jobs"]["load"]["credential"] = "DHIS2 production"
    with pytest.raises(Invalid, match="No credential named") as caught:
        store.create_workflow(project.id, raw)
    assert caught.value.field == "jobs.load.credential"


def _problems(source) -> dict[str, str]:
    return {p.path: p.message for p in check_document(source).problems}


def test_every_problem_is_listed_with_its_path_and_the_first_is_raised():
    raw = yaml.safe_load(DOCUMENT)
    raw["jobs"]["load"]["adaptor"] = "nosuch@1"
    raw["jobs"]["fetch-patients"]["body"] = 5
    raw["triggers"]["nightly"]["cron_timezone"] = "Mars/Olympus"
    raw["edges"]["fetch-patients->load"]["condition_expression"] = "len(state["
    problems = _problems(raw)
    assert list(problems) == [
        "jobs.fetch-patients.body",
        "jobs.load.adaptor",
        "triggers.nightly.cron_timezone",
        "edges.fetch-patients->load.condition_expression",
    ]
    with pytest.raises(DocumentInvalid) as caught:
        parse_document(raw)
    assert caught.value.field == "jobs.fetch-patients.body"
    assert [p.path for p in caught.value.problems] == list(problems)


@pytest.mark.parametrize(
    ("path", "value", "field", "message"),
    [
        ("name", 5, "name", "The name must be text, not a number."),
        ("concurrency", 10**30, "concurrency", "at most 1000"),
        ("concurrency", 1e30, "concurrency", "whole number"),
        ("concurrency", "1e30", "concurrency", "whole number"),
        ("concurrency", True, "concurrency", "whole number"),
        ("jobs.load.name", "x" * 201, "jobs.load.name", "at most 200 characters"),
        ("jobs.load.name", ["Load"], "jobs.load.name", "must be text, not a list"),
        ("jobs.load.adaptor", 1, "jobs.load.adaptor", "must be text"),
        ("triggers.webhook.type", ["webhook"], "triggers.webhook.type", "not one of"),
        ("triggers.webhook.custom_path", {"a": 1}, "triggers.webhook.custom_path", "custom path"),
        *[
            (
                "triggers.webhook.webhook_requests_per_minute",
                bad,
                "triggers.webhook.webhook_requests_per_minute",
                "from 1 to 100,000, or left out for the server's default",
            )
            for bad in (0, -5, 100_001, 2.5, "60", True, [60])
        ],
        ("triggers.nightly.cron_timezone", "Africa", "triggers.nightly.cron_timezone", "time zone"),
        ("triggers.nightly.cron_input_job", {"a": 1}, "triggers.nightly.cron_input_job", "job"),
        ("triggers.nightly.cron_input_job", "nosuch", "triggers.nightly.cron_input_job", "job"),
        (
            "edges.fetch-patients->load.condition_label",
            {"a": 1},
            "edges.fetch-patients->load.condition_label",
            "The condition label must be text, not a mapping.",
        ),
        (
            "edges.fetch-patients->load.source_job",
            {"a": 1},
            "edges.fetch-patients->load.source_job",
            "no job",
        ),
        (
            "edges.webhook->fetch-patients.source_trigger",
            ["webhook"],
            "edges.webhook->fetch-patients.source_trigger",
            "no trigger",
        ),
        ("jobs", ["fetch"], "jobs", "must be a mapping"),
    ],
)
def test_wrong_types_are_refused_not_turned_into_text(path, value, field, message):
    raw = yaml.safe_load(DOCUMENT)
    node = raw
    *parents, last = path.split(".", 2) if path.startswith("edges.") else path.split(".")
    for part in parents:
        node = node[part]
    node[last] = value
    with pytest.raises(Invalid) as caught:
        parse_document(raw)
    assert caught.value.field == field
    assert message in caught.value.message


@pytest.mark.parametrize(
    "source",
    [
        "name: Deep\njobs: " + "[" * 5_000 + "]" * 5_000,
        '{"name": "Deep", "jobs": ' + "[" * 100_000 + "]" * 100_000 + "}",
    ],
    ids=["yaml", "json-text"],
)
def test_a_deeply_nested_document_is_refused(source):
    with pytest.raises(Invalid, match="nested too deeply") as caught:
        parse_document(source)
    assert caught.value.field == ""


def test_a_deeply_nested_mapping_is_refused():
    raw = yaml.safe_load(DOCUMENT)
    node = raw["jobs"]["load"]
    for _ in range(100):
        node["body"] = {}
        node = node["body"]
    with pytest.raises(Invalid, match="nested too deeply"):
        parse_document(raw)


def test_nul_characters_are_refused():
    raw = yaml.safe_load(DOCUMENT)
    raw["jobs"]["load"]["body"] = "fn(lambda state: state)\x00"
    with pytest.raises(Invalid, match="NUL"):
        parse_document(raw)
    with pytest.raises(Invalid, match="NUL"):
        parse_document('{"name": "x\\u0000y"}')


def test_yaml_aliases_that_multiply_values_are_refused_quickly():
    text = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in range(9):
        previous = "a" if level == 0 else f"b{level - 1}"
        text += f"b{level}: &b{level} [" + ", ".join([f"*{previous}"] * 10) + "]\n"
    with pytest.raises(Invalid, match="too many values"):
        parse_document(text)


def test_a_long_chain_of_steps_with_a_cycle_is_checked_without_a_crash():
    count = 3_000
    raw = {
        "name": "Long",
        "jobs": {f"s{i}": {"adaptor": "common@1"} for i in range(count)},
        "edges": {
            f"s{i}->s{i + 1}": {"source_job": f"s{i}", "target_job": f"s{i + 1}"}
            for i in range(count - 1)
        },
    }
    raw["edges"]["back"] = {"source_job": f"s{count - 1}", "target_job": "s0"}
    problems = check_document(raw).problems
    assert problems[0].path == "edges.back" and "cycle" in problems[0].message
    assert len(problems) == count  # every edge of the loop is marked


def test_unreachable_steps_are_warnings_that_do_not_block_saving():
    raw = yaml.safe_load(DOCUMENT)
    raw["jobs"]["spare"] = {"name": "Spare", "adaptor": "http@1"}
    checked = check_document(raw)
    assert checked.errors == []
    assert [(p.path, p.level) for p in checked.warnings] == [("jobs.spare", "warning")]
    assert "Nothing leads to this step" in checked.warnings[0].message
    assert [j.key for j in parse_document(raw).jobs][-1] == "spare"


def test_a_cron_input_job_that_is_not_a_step_is_refused_before_saving(user, db):
    project = factories.project(user)
    raw = yaml.safe_load(DOCUMENT)
    raw["triggers"]["nightly"]["cron_input_job"] = "nosuch"  # with cron_input last_success
    with pytest.raises(Invalid) as caught:
        store.create_workflow(project.id, raw)
    assert caught.value.field == "triggers.nightly.cron_input_job"
    assert store.list_workflows(project.id) == []


def test_credential_problems_join_the_document_problems(user, db):
    project = factories.project(user)
    raw = yaml.safe_load(DOCUMENT)
    raw["jobs"]["load"]["credential"] = "DHIS2 production"
    raw["jobs"]["fetch-patients"]["adaptor"] = "nosuch@1"
    with pytest.raises(DocumentInvalid) as caught:
        store.create_workflow(project.id, raw)
    assert [p.path for p in caught.value.problems] == [
        "jobs.fetch-patients.adaptor",
        "jobs.load.credential",
    ]


def test_a_webhook_triggers_own_rate_limit_is_saved_exported_and_kept_in_versions(user, db):
    project = factories.project(user)
    raw = yaml.safe_load(DOCUMENT)
    raw["triggers"]["webhook"]["webhook_requests_per_minute"] = 120
    workflow = store.create_workflow(project.id, yaml.safe_dump(raw))
    trigger = next(t for t in workflow.triggers if t.key == "webhook")
    assert trigger.webhook_requests_per_minute == 120
    exported = yaml.safe_load(export.export_yaml(workflow))
    assert exported["triggers"]["webhook"]["webhook_requests_per_minute"] == 120
    assert "webhook_requests_per_minute" not in exported["triggers"]["nightly"]
    latest = snapshots.latest_snapshot(workflow.id)
    saved = next(t for t in latest.definition["triggers"] if t["key"] == "webhook")
    assert saved["webhook_requests_per_minute"] == 120
    # Left out again: the trigger goes back to the instance's limit.
    del raw["triggers"]["webhook"]["webhook_requests_per_minute"]
    store.replace_workflow(workflow.id, yaml.safe_dump(raw), project_id=project.id)
    db.session.expire_all()
    assert db.session.get(type(trigger), trigger.id).webhook_requests_per_minute is None
