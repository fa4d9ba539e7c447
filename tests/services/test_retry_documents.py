"""Retry policies in workflow documents: a step's `retry_policy` and the workflow's default
are checked with the path to fix, stored, exported and imported back unchanged, carried by
saved versions (restore, compare) and by project documents; a bad one saves nothing."""

from __future__ import annotations

import json

import pytest
import yaml

from app.extensions import db as _db
from app.models import Step, Workflow
from app.services.notifications import change_notices
from app.services.project_code import document as project_document
from app.services.project_code import importing
from app.services.runs import retry_policy
from app.services.studio import versions
from app.services.workflows import export, snapshots, store
from app.services.workflows.documents import DocumentInvalid, check_document, parse_document
from tests import factories

DOCUMENT = """
name: Retrying sync
retry_policy:
  max_attempts: 4
  initial_delay_s: 2
triggers:
  webhook:
    type: webhook
jobs:
  fetch:
    name: Fetch
    adaptor: http@1
    body: |
      get("https://example.org/api")
    retry_policy:
      max_attempts: 3
      initial_delay_s: 5
      factor: 3
      max_delay_s: 60
      jitter: 0
      retry_on: [http_5xx, timeout]
  post:
    name: Post once
    adaptor: http@1
    body: |
      post("https://example.org/api", {})
    retry_policy:
      max_attempts: 1
  load:
    name: Load
    adaptor: common@1
    body: |
      fn(lambda state: state)
edges:
  webhook->fetch:
    source_trigger: webhook
    target_job: fetch
  fetch->post:
    source_job: fetch
    target_job: post
  post->load:
    source_job: post
    target_job: load
"""


def _raw() -> dict:
    return yaml.safe_load(DOCUMENT)


def _problems(raw: dict) -> dict[str, str]:
    return {p.path: p.message for p in check_document(raw).errors}


def _steps(workflow: Workflow) -> dict[str, dict | None]:
    return {s.key: s.retry_policy for s in workflow.steps}


def test_a_step_policy_is_filled_with_defaults_and_stored(project):
    saved = store.create_workflow(project.id, DOCUMENT)

    policies = _steps(saved)
    assert policies["fetch"] == {
        "max_attempts": 3,
        "initial_delay_s": 5.0,
        "factor": 3.0,
        "max_delay_s": 60.0,
        "jitter": 0.0,
        "retry_on": ["timeout", "http_5xx"],  # the usual order, whatever order was written
    }
    assert policies["load"] is None  # the workflow's default applies
    assert saved.retry_policy == {
        **retry_policy.DEFAULTS,
        "max_attempts": 4,
        "initial_delay_s": 2.0,
    }


def test_max_attempts_1_on_a_step_means_never_retried_even_with_a_default(project):
    saved = store.create_workflow(project.id, DOCUMENT)

    own = _steps(saved)["post"]
    assert own is not None and own["max_attempts"] == 1
    assert retry_policy.effective(own, saved.retry_policy) is own
    failure = {"code": "http_error", "details": {"status": 503}}
    assert retry_policy.retry_delay(own, failure, 1) is None
    assert retry_policy.retry_delay(saved.retry_policy, failure, 1) is not None


def test_max_attempts_1_for_the_workflow_is_no_default():
    raw = _raw()
    raw["retry_policy"] = {"max_attempts": 1}
    assert parse_document(raw).retry_policy is None


def test_export_then_import_gives_the_same_policies(project):
    saved = store.create_workflow(project.id, DOCUMENT)
    written = export.export_yaml(saved)

    assert "retry_policy:" in written
    assert export.export_document(saved)["jobs"]["post"]["retry_policy"] == {"max_attempts": 1}
    assert "retry_policy" not in export.export_document(saved)["jobs"]["load"]
    again = parse_document(written)
    assert again.retry_policy == saved.retry_policy
    assert {job.key: job.retry_policy for job in again.jobs} == _steps(saved)
    copy = store.create_workflow(project.id, written.replace("Retrying sync", "Copy"))
    original = store.get_workflow(saved.id)
    assert export.export_document(copy) | {"name": "x"} == export.export_document(original) | {
        "name": "x"
    }


def test_a_workflow_without_policies_exports_no_retry_keys(project):
    plain = factories.workflow(project, name="Plain")
    document = export.export_document(plain)
    assert "retry_policy" not in document
    assert all("retry_policy" not in job for job in document["jobs"].values())


def test_removing_a_policy_from_the_document_removes_it(project):
    saved = store.create_workflow(project.id, DOCUMENT)
    raw = _raw()
    del raw["retry_policy"]
    del raw["jobs"]["fetch"]["retry_policy"]
    replaced = store.replace_workflow(saved.id, raw)
    assert replaced.retry_policy is None
    assert _steps(replaced)["fetch"] is None


FETCH, AT = ("jobs", "fetch"), "jobs.fetch.retry_policy"


@pytest.mark.parametrize(
    ("where", "value", "path", "words"),
    [
        (FETCH, "3 times", AT, "must be a mapping"),
        (FETCH, [3], AT, "not a list"),
        (FETCH, True, AT, "not true/false"),
        ((), 3, "retry_policy", "must be a mapping"),
        (FETCH, {"max_attempts": 0}, f"{AT}.max_attempts", "1 to 20"),
        (FETCH, {"max_attempts": 21}, f"{AT}.max_attempts", "1 to 20"),
        (FETCH, {"max_attempts": "3"}, f"{AT}.max_attempts", "whole"),
        (FETCH, {"max_attempts": 2.5}, f"{AT}.max_attempts", "whole"),
        (FETCH, {"max_attempts": True}, f"{AT}.max_attempts", "whole"),
        (FETCH, {"max_attempts": None}, f"{AT}.max_attempts", "whole"),
        (FETCH, {"factor": 0.5}, f"{AT}.factor", "from 1 to 10"),
        (FETCH, {"jitter": "10%"}, f"{AT}.jitter", "a number"),
        (FETCH, {"jitter": 1.5}, f"{AT}.jitter", "from 0 to 1"),
        (
            ("jobs", "fetch"),
            {"initial_delay_s": {"seconds": 5}},
            f"{AT}.initial_delay_s",
            "a number",
        ),
        (
            ("jobs", "fetch"),
            {"initial_delay_s": 60, "max_delay_s": 10},
            f"{AT}.max_delay_s",
            "cannot be shorter",
        ),
        (FETCH, {"max_delay_s": 10**9}, f"{AT}.max_delay_s", "86400"),
        (FETCH, {"retry_on": "http_5xx"}, f"{AT}.retry_on", "a list"),
        (FETCH, {"retry_on": [["http_5xx"]]}, f"{AT}.retry_on", "list"),
        (FETCH, {"retry_on": [{"a": 1}]}, f"{AT}.retry_on", "list"),
        (FETCH, {"retry_on": ["http_404"]}, f"{AT}.retry_on", "404"),
        (FETCH, {"retry_on": []}, f"{AT}.retry_on", "at least one"),
        (FETCH, {"retries": 3}, f"{AT}.retries", "no setting"),
        ((), {"max_attempts": 0}, "retry_policy.max_attempts", "1 to 20"),
        ((), {"delay": 5}, "retry_policy.delay", "use max_attempts"),
        # "Never retry" still has to be a policy that makes sense.
        (
            ("jobs", "post"),
            {"max_attempts": 1, "factor": 99},
            "jobs.post.retry_policy.factor",
            "to 10",
        ),
    ],
)
def test_a_bad_policy_is_refused_naming_its_path(where, value, path, words):
    raw = _raw()
    node = raw
    for part in where:
        node = node[part]
    node["retry_policy"] = value

    problems = _problems(raw)
    assert path in problems, problems
    assert words in problems[path]
    with pytest.raises(DocumentInvalid) as refused:
        parse_document(raw)
    assert refused.value.field == path


def test_unknown_keys_of_any_type_are_each_named_and_nothing_crashes():
    raw = _raw()
    raw["jobs"]["fetch"]["retry_policy"] = {1: 2, "wait": 3, "max_attempts": 2, None: [{}]}
    problems = [(p.path, p.message) for p in check_document(raw).errors]
    assert [path for path, _ in problems] == [
        "jobs.fetch.retry_policy",  # keys that are not text are named in the message
        "jobs.fetch.retry_policy.wait",
        "jobs.fetch.retry_policy",
    ]
    assert "no setting 1;" in problems[0][1] and "use max_attempts" in problems[0][1]
    assert "no setting 'wait'" in problems[1][1]
    assert "no setting None" in problems[2][1]


def test_nested_junk_and_yaml_oddities_are_refused_not_crashed():
    text = DOCUMENT.replace("      max_attempts: 3\n", "      max_attempts: .nan\n", 1)
    assert "nan, which JSON cannot store" in check_document(text).errors[0].message
    text = DOCUMENT.replace("      max_attempts: 3\n", "      max_attempts: 1e400\n", 1)
    assert check_document(text).errors  # inf: refused, whichever reader sees it first
    text = DOCUMENT.replace("      max_attempts: 3\n", "      max_attempts: 3000000000000\n", 1)
    assert "1 to 20" in _problems(yaml.safe_load(text))["jobs.fetch.retry_policy.max_attempts"]
    deep: dict = {"x": 1}
    for _ in range(30):
        deep = {"x": deep}
    raw = _raw()
    raw["jobs"]["fetch"]["retry_policy"] = {"max_attempts": deep}
    assert "whole number" in _problems(raw)["jobs.fetch.retry_policy.max_attempts"]


def test_a_nul_character_in_a_policy_is_refused():
    raw = _raw()
    raw["jobs"]["fetch"]["retry_policy"] = {"retry_on": ["http_5xx\x00"]}
    problems = check_document(raw).errors
    assert problems and "NUL" in problems[0].message
    raw["jobs"]["fetch"]["retry_policy"] = {"max_attempts\x00": 3}
    assert "NUL" in check_document(raw).errors[0].message


def test_every_bad_policy_is_listed_at_once():
    raw = _raw()
    raw["retry_policy"] = {"factor": 0}
    raw["jobs"]["fetch"]["retry_policy"] = {"jitter": -1}
    raw["jobs"]["load"]["retry_policy"] = "often"
    assert {
        "retry_policy.factor",
        "jobs.fetch.retry_policy.jitter",
        "jobs.load.retry_policy",
    } <= set(_problems(raw))


def test_a_bad_policy_saves_nothing_half_way(project):
    saved = store.create_workflow(project.id, DOCUMENT)
    raw = _raw()
    raw["name"] = "Renamed"
    raw["retry_policy"] = {"max_attempts": 9}
    raw["jobs"]["load"]["retry_policy"] = {"max_attempts": 0}
    with pytest.raises(DocumentInvalid):
        store.replace_workflow(saved.id, raw)
    _db.session.rollback()
    kept = store.get_workflow(saved.id)
    assert (kept.name, kept.lock_version, kept.retry_policy["max_attempts"]) == (
        "Retrying sync",
        1,
        4,
    )
    assert (
        _db.session.query(Step).filter_by(workflow_id=saved.id, key="load").one().retry_policy
        is None
    )
    with pytest.raises(DocumentInvalid):
        store.create_workflow(project.id, {**raw, "name": "New one"})
    _db.session.rollback()
    assert _db.session.query(Workflow).filter_by(project_id=project.id).count() == 1


def test_versions_carry_restore_and_compare_policies(project, user):
    saved = store.create_workflow(project.id, DOCUMENT, user.id)
    exported, steps = export.export_document(saved), _steps(saved)
    raw = _raw()
    raw["retry_policy"]["max_attempts"] = 6
    raw["jobs"]["fetch"]["retry_policy"]["retry_on"] = ["connection"]
    del raw["jobs"]["post"]["retry_policy"]
    changed = store.replace_workflow(saved.id, raw, actor_id=user.id)
    assert changed.retry_policy["max_attempts"] == 6

    first = versions.version_document(saved.id, project.id, 1)
    assert first["jobs"]["fetch"]["retry_policy"]["retry_on"] == ["timeout", "http_5xx"]
    assert first == exported

    comparison = versions.compare(saved.id, project.id, 1, 2)
    titles = {item.path: item for item in comparison.items}
    assert titles["retry_policy.max_attempts"].title == "Workflow default retries, attempts changed"
    assert (
        titles["retry_policy.max_attempts"].before,
        titles["retry_policy.max_attempts"].after,
    ) == (
        4,
        6,
    )
    retried = titles["jobs.fetch.retry_policy.retry_on"]
    assert retried.title == "Step “Fetch”: retries, failures retried changed"
    assert (retried.before, retried.after) == ("timeout, http_5xx", "connection")
    assert titles["jobs.post.retry_policy"].kind == "removed"
    assert comparison.marks["job:fetch"] == "changed"

    restored = versions.restore(saved.id, project.id, 1, 2, user.id)
    assert restored.lock_version == 3
    assert restored.retry_policy["max_attempts"] == 4
    assert _steps(restored) == steps
    definition = snapshots.latest_snapshot(saved.id).definition
    assert definition["retry_policy"]["max_attempts"] == 4
    by_key = {s["key"]: s for s in definition["steps"]}
    assert by_key["post"]["retry_policy"]["max_attempts"] == 1
    assert "retry_policy" not in by_key["load"]


def test_a_project_document_carries_policies_both_ways(project, user):
    store.create_workflow(project.id, DOCUMENT, user.id)
    written = project_document.export_project(project.id)
    entry = next(iter(written["workflows"].values()))
    assert entry["retry_policy"]["max_attempts"] == 4
    assert entry["jobs"]["fetch"]["retry_policy"]["factor"] == 3.0

    entry["jobs"]["fetch"]["retry_policy"]["max_attempts"] = 7
    importing.apply_project(json.loads(json.dumps(written)), user, project_id=project.id)
    fetch = _db.session.query(Step).filter_by(key="fetch").one()
    assert fetch.retry_policy["max_attempts"] == 7

    entry["jobs"]["fetch"]["retry_policy"]["max_attempts"] = "seven"
    with pytest.raises(DocumentInvalid) as refused:
        importing.apply_project(written, user, project_id=project.id)
    key = next(iter(written["workflows"]))
    assert refused.value.field == f"workflows.{key}.jobs.fetch.retry_policy.max_attempts"


def test_a_change_notice_says_retries_changed(project):
    saved = store.create_workflow(project.id, DOCUMENT)
    before = snapshots.latest_snapshot(saved.id).definition
    raw = _raw()
    raw["retry_policy"]["factor"] = 3
    raw["jobs"]["fetch"]["retry_policy"]["max_attempts"] = 5
    store.replace_workflow(saved.id, raw)
    after = snapshots.latest_snapshot(saved.id).definition
    assert change_notices.describe_changes(before, after) == [
        "The default retries for steps changed",
        "Step changed: Fetch (its retries changed)",
    ]
