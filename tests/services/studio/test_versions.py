"""Version history: each save's message, versions listed newest first a page at a time, a
version as a workflow document, two versions compared, and restoring as a new version."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import WorkflowSnapshot
from app.services.credentials import sharing
from app.services.errors import Conflict, Invalid, NotFound
from app.services.studio import canvas as studio
from app.services.studio import versions
from app.services.workflows import export, store
from tests import factories


def _save_body(flow, body: str, user, message=None):
    document = export.export_document(store.get_workflow(flow.id))
    document["jobs"]["fetch"]["body"] = body
    return studio.save_canvas(
        flow.id, flow.project_id, document, {}, flow.lock_version, user.id, message=message
    )


def test_a_save_keeps_its_message_and_author(flow, user):
    saved = _save_body(flow, "fn(lambda state: 2)", user, message="  Count twice  ")

    page = versions.list_versions(saved.id, saved.project_id)
    assert [r.version for r in page.rows] == [2, 1]
    newest = page.rows[0]
    assert (newest.message, newest.current, newest.author) == (
        "Count twice",
        True,
        user.display_name,
    )
    assert page.rows[1].author == "Ferry"  # created by a factory, nobody signed in
    assert page.rows[1].message is None


@pytest.mark.parametrize(
    "message, said",
    [("x" * 501, "under 500"), ("a\x00b", "NUL"), (["list"], "must be text")],
)
def test_a_message_that_cannot_be_stored_is_refused_and_nothing_is_saved(flow, user, message, said):
    with pytest.raises(Invalid, match=said) as refused:
        _save_body(flow, "fn(lambda state: 2)", user, message=message)
    assert refused.value.field == "message"
    assert store.get_workflow(flow.id).lock_version == 1


def test_versions_come_a_page_at_a_time_newest_first(flow, user):
    for n in range(versions.PAGE_SIZE + 2):
        flow = _save_body(flow, f"fn(lambda state: {n})", user)
    first = versions.list_versions(flow.id, flow.project_id)
    assert len(first.rows) == versions.PAGE_SIZE
    assert first.total == versions.PAGE_SIZE + 3
    second = versions.list_versions(flow.id, flow.project_id, before=first.next_before)
    assert [r.version for r in second.rows] == [3, 2, 1]
    assert second.next_before is None


@pytest.mark.parametrize("value", ["abc", "-1", "0", "1.5", "", str(2**31), "9" * 40, None])
def test_a_crafted_version_number_is_invalid(value):
    with pytest.raises(Invalid):
        versions.version_number(value)


def test_a_version_of_another_projects_workflow_is_not_found(flow, user):
    other = factories.project(user, "Someone else's")
    with pytest.raises(NotFound):
        versions.get_version(flow.id, other.id, 1)
    with pytest.raises(NotFound):
        versions.get_version(flow.id, flow.project_id, 7)
    with pytest.raises(NotFound):
        versions.get_version(flow.id, flow.project_id, 2**40)


def test_a_version_reads_back_as_the_document_that_was_saved(flow, user):
    before = export.export_document(store.get_workflow(flow.id))
    _save_body(flow, "fn(lambda state: 2)", user)
    assert versions.version_document(flow.id, flow.project_id, 1) == before


def test_comparing_marks_the_changed_step_and_diffs_its_body(flow, user):
    document = export.export_document(store.get_workflow(flow.id))
    document["jobs"]["fetch"]["body"] = "fn(lambda state: 'second')\n"
    document["jobs"]["extra"] = {"name": "Extra", "adaptor": "common@1", "body": "log('x')"}
    document["edges"]["fetch->extra"] = {
        "source_job": "fetch",
        "target_job": "extra",
        "condition_type": "on_job_success",
    }
    studio.save_canvas(flow.id, flow.project_id, document, {}, 1, user.id)

    comparison = versions.compare(flow.id, flow.project_id, 1, 2)
    assert comparison.marks == {
        "job:fetch": "changed",
        "job:extra": "added",
        "edge:fetch->extra": "added",
    }
    body = next(i for i in comparison.items if i.path == "jobs.fetch.body")
    assert "+fn(lambda state: 'second')" in body.lines
    assert any(line.startswith("-fn(lambda state:") for line in body.lines)

    # Read the other way, the new step is removed and still drawn (greyed) on the canvas.
    backwards = versions.compare(flow.id, flow.project_id, 2, 1)
    assert backwards.marks["job:extra"] == "removed"
    assert "extra" in backwards.document["jobs"]
    assert "fetch->extra" in backwards.document["edges"]


def test_a_changed_setting_shows_old_and_new(flow, user):
    document = export.export_document(store.get_workflow(flow.id))
    document["edges"]["webhook->fetch"]["enabled"] = False
    studio.save_canvas(flow.id, flow.project_id, document, {}, 1, user.id)
    (item,) = versions.compare(flow.id, flow.project_id, 1, 2).items
    assert (item.kind, item.before, item.after) == ("changed", True, False)
    assert "enabled" in item.title


def test_restore_makes_a_new_version_equal_to_the_old_one(flow, user):
    original = export.export_document(store.get_workflow(flow.id))
    _save_body(flow, "fn(lambda state: 'changed')", user)

    restored = versions.restore(flow.id, flow.project_id, 1, 2, user.id)

    assert restored.lock_version == 3
    assert export.export_document(restored) == original
    snapshot = db.session.query(WorkflowSnapshot).filter_by(workflow_id=flow.id, lock_version=3)
    snapshot = snapshot.one()
    assert (snapshot.restored_from_version, snapshot.message) == (1, "Restored version 1")
    # History is kept: version 2 is still there, unchanged.
    assert (
        "changed" in versions.version_document(flow.id, flow.project_id, 2)["jobs"]["fetch"]["body"]
    )


def test_restore_is_refused_when_someone_saved_meanwhile(flow, user):
    _save_body(flow, "fn(lambda state: 'mine')", user)
    _save_body(store.get_workflow(flow.id), "fn(lambda state: 'theirs')", user)
    with pytest.raises(Conflict, match="Someone else saved"):
        versions.restore(flow.id, flow.project_id, 1, 2, user.id)
    assert store.get_workflow(flow.id).lock_version == 3


def test_restoring_the_current_version_is_refused(flow, user):
    with pytest.raises(Invalid, match="already the current version"):
        versions.restore(flow.id, flow.project_id, 1, 1, user.id)


def test_a_version_names_its_credential_and_restoring_it_needs_the_credential_shared(
    flow, user, project
):
    credential = factories.shared_dhis2_credential(user, project, "s3cret-password")
    document = export.export_document(store.get_workflow(flow.id))
    document["jobs"]["fetch"]["credential"] = credential.name
    studio.save_canvas(flow.id, flow.project_id, document, {}, 1, user.id)
    document["jobs"]["fetch"]["credential"] = None
    studio.save_canvas(flow.id, flow.project_id, document, {}, 2, user.id)
    assert (
        versions.version_document(flow.id, flow.project_id, 2)["jobs"]["fetch"]["credential"]
        == credential.name
    )
    (item,) = versions.compare(flow.id, flow.project_id, 2, 3).items
    assert (item.path, item.before, item.after) == ("jobs.fetch.credential", "DHIS2 live", None)

    sharing.unshare(user, credential.id, project.id)
    with pytest.raises(Invalid, match="No credential named 'DHIS2 live'") as refused:
        versions.restore(flow.id, flow.project_id, 2, 3, user.id)
    assert refused.value.field == "jobs.fetch.credential"
    assert store.get_workflow(flow.id).lock_version == 3
