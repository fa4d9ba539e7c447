"""Workflow documents: validation errors name the exact field; export then import round-trips."""

from __future__ import annotations

import pytest
import yaml

from app.services.errors import Conflict, Invalid
from app.services.workflows import store
from app.services.workflows.documents import parse_document
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
    exported = store.export_yaml(created)
    other_project = factories.project(user)
    again = store.create_workflow(other_project.id, exported)
    assert store.export_yaml(again) == exported
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
    assert store.latest_snapshot(created.id).lock_version == 2


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
