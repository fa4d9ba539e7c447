"""A refused save explained: who saved since the editor's version, when, the versions, and
what they changed (entries added/removed/changed, a line diff of each changed body)."""

from __future__ import annotations

import uuid

import pytest

from app.models import Role
from app.services.errors import NotFound
from app.services.studio import conflicts
from app.services.workflows import export, store
from tests import factories


@pytest.fixture
def amina(db, project):
    person = factories.user()
    person.name = "Amina Diallo"
    factories.member(project, person, Role.EDITOR)
    return person


@pytest.fixture
def saved_twice(project, amina):
    """Version 1 by the project's owner; version 2 by Amina: a changed body, a new step."""
    workflow = factories.workflow(project, name="Patient sync")
    document = export.export_document(workflow)
    document["jobs"]["first"]["body"] = 'fn(lambda state: state)\nlog("changed by Amina")\n'
    document["jobs"]["second"] = {"name": "Send on", "adaptor": "common@1", "body": "log('x')"}
    document["edges"]["first->second"] = {
        "source_job": "first",
        "target_job": "second",
        "condition_type": "on_job_success",
    }
    return store.replace_workflow(workflow.id, document, expected_version=1, actor_id=amina.id)


def test_the_conflict_names_who_saved_when_and_the_versions(saved_twice):
    conflict = conflicts.describe(saved_twice.id, 1)
    assert (conflict.your_version, conflict.current_version) == (1, 2)
    assert conflict.saved_by == "Amina Diallo" and conflict.authors == ["Amina Diallo"]
    assert conflict.saved_at is not None
    details = conflict.as_json()
    assert details["saved_by"] == "Amina Diallo" and details["current_version"] == 2
    assert details["saved_at"].startswith(str(conflict.saved_at.year))


def test_the_conflict_lists_what_changed_with_a_line_diff_of_the_body(saved_twice):
    conflict = conflicts.describe(saved_twice.id, 1)
    by_what = {(c.what, c.field): c for c in conflict.changes}
    body = by_what[("Step “First step”", "body")]
    assert body.kind == "changed"
    assert '+log("changed by Amina")' in body.lines
    assert any(line.startswith("-fn(") for line in body.lines)
    added = by_what[("Step “Send on”", "")]
    assert added.kind == "added" and "+log('x')" in added.lines and "Send on" in added.after
    assert by_what[("Edge “first->second”", "")].kind == "added"
    assert conflict.touched["jobs"] == {"first": "changed", "second": "added"}
    assert conflict.touched["edges"] == {"first->second": "added"}


def test_several_saves_since_name_every_author(saved_twice, project, user):
    document = export.export_document(saved_twice)
    document["name"] = "Patient sync (v3)"
    store.replace_workflow(saved_twice.id, document, expected_version=2, actor_id=user.id)
    conflict = conflicts.describe(saved_twice.id, 1)
    assert conflict.current_version == 3 and conflict.saved_by == "Test Person"
    assert conflict.authors == ["Amina Diallo", "Test Person"]
    renamed = [c for c in conflict.changes if c.what == "Workflow"]
    assert [(r.field, r.before, r.after) for r in renamed] == [
        ("name", "Patient sync", "Patient sync (v3)")
    ]


def test_the_current_version_itself_is_no_conflict(saved_twice):
    conflict = conflicts.describe(saved_twice.id, 2)
    assert conflict.saved_at is None and conflict.changes == []


@pytest.mark.parametrize("version", [0, -1, 3, 2**40])
def test_a_version_the_workflow_never_had_is_not_found(saved_twice, version):
    with pytest.raises(NotFound):
        conflicts.describe(saved_twice.id, version)


def test_an_unknown_workflow_is_not_found(db):
    with pytest.raises(NotFound):
        conflicts.describe(uuid.uuid4(), 1)
    assert conflicts.summary(uuid.uuid4(), 1) == {}


def test_the_summary_says_nothing_without_a_version(saved_twice):
    assert conflicts.summary(saved_twice.id, None) == {}
    assert conflicts.summary(saved_twice.id, 1)["your_version"] == 1
