"""The three-way merge of project documents: each side's own changes are kept, the same
entry changed differently on both sides is a clash naming its path with both values."""

from __future__ import annotations

from app.services.git_sync.merge import merge

BASE = {
    "name": "Clinic",
    "workflows": {
        "sync": {"name": "Sync", "jobs": {"fetch": {"body": "a\n"}, "load": {"body": "b\n"}}},
        "intake": {"name": "Intake"},
    },
}


def _copy(value):
    return {k: _copy(v) for k, v in value.items()} if isinstance(value, dict) else value


def test_a_change_on_one_side_only_is_taken():
    ours, theirs = _copy(BASE), _copy(BASE)
    theirs["workflows"]["sync"]["jobs"]["fetch"]["body"] = "changed in git\n"
    ours["name"] = "Clinic (renamed in Ferry)"
    merged = merge(BASE, ours, theirs)
    assert not merged.clashes
    assert merged.document["workflows"]["sync"]["jobs"]["fetch"]["body"] == "changed in git\n"
    assert merged.document["name"] == "Clinic (renamed in Ferry)"


def test_changes_to_different_jobs_of_one_workflow_are_both_kept():
    ours, theirs = _copy(BASE), _copy(BASE)
    ours["workflows"]["sync"]["jobs"]["fetch"]["body"] = "ours\n"
    theirs["workflows"]["sync"]["jobs"]["load"]["body"] = "theirs\n"
    merged = merge(BASE, ours, theirs)
    assert not merged.clashes
    jobs = merged.document["workflows"]["sync"]["jobs"]
    assert (jobs["fetch"]["body"], jobs["load"]["body"]) == ("ours\n", "theirs\n")


def test_the_same_change_on_both_sides_is_no_clash():
    ours, theirs = _copy(BASE), _copy(BASE)
    ours["workflows"]["sync"]["jobs"]["fetch"]["body"] = "same\n"
    theirs["workflows"]["sync"]["jobs"]["fetch"]["body"] = "same\n"
    assert not merge(BASE, ours, theirs).clashes


def test_the_same_job_changed_differently_is_a_clash_with_both_bodies_and_a_line_diff():
    ours, theirs = _copy(BASE), _copy(BASE)
    ours["workflows"]["sync"]["jobs"]["fetch"]["body"] = "a\nours\n"
    theirs["workflows"]["sync"]["jobs"]["fetch"]["body"] = "a\ntheirs\n"
    (clash,) = merge(BASE, ours, theirs).clashes
    assert clash.path == "workflows.sync.jobs.fetch.body"
    assert (clash.ours, clash.theirs, clash.base) == ("a\nours\n", "a\ntheirs\n", "a\n")
    assert "-ours" in clash.line_diff() and "+theirs" in clash.line_diff()


def test_removed_on_one_side_and_changed_on_the_other_is_a_clash():
    ours, theirs = _copy(BASE), _copy(BASE)
    del ours["workflows"]["intake"]
    theirs["workflows"]["intake"]["name"] = "Intake v2"
    (clash,) = merge(BASE, ours, theirs).clashes
    assert clash.path == "workflows.intake"
    assert clash.ours is None and clash.theirs == {"name": "Intake v2"}


def test_removed_on_one_side_only_is_removed_and_added_on_one_side_is_added():
    ours, theirs = _copy(BASE), _copy(BASE)
    del theirs["workflows"]["intake"]
    ours["workflows"]["new"] = {"name": "New"}
    merged = merge(BASE, ours, theirs)
    assert not merged.clashes
    assert set(merged.document["workflows"]) == {"sync", "new"}


def test_with_no_base_both_sides_adding_different_values_clash():
    merged = merge(None, {"name": "A", "x": 1}, {"name": "B", "y": 2})
    assert [c.path for c in merged.clashes] == ["name"]
    assert merged.document["x"] == 1 and merged.document["y"] == 2
