"""Sandboxes: a clone that never touches production (new webhook addresses, schedules off,
only the cloner's credential shares), a comparison with the parent that shows only real
changes, and merges back that keep the parent's webhooks and schedules, warn about (and
require ticking for) parent changes they would replace, and leave the parent untouched when
anything is wrong."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent, ProjectCredential, ProjectMember, Role, WorkflowSnapshot
from app.services.credentials import sharing
from app.services.credentials import store as credential_store
from app.services.errors import Conflict, Forbidden, Invalid, NotFound
from app.services.project_code.document import export_project, keyed_workflows
from app.services.sandboxes import cloning, comparing, merging
from app.services.workflows import store
from app.services.workflows.export import export_document
from tests import factories
from tests.services.sandbox_world import clinic as make_clinic


@pytest.fixture
def clinic(db):
    return make_clinic()


@pytest.fixture
def sandbox(clinic):
    return cloning.create_sandbox(clinic.admin, clinic.project.id).sandbox


def _workflow(project_id, key="patient-sync"):
    return keyed_workflows(project_id)[key]


def _edit(project_id, actor, key="patient-sync", job="load", body=None, name=None):
    """Save a changed body (or step name) of one job, as the builder would."""
    workflow = _workflow(project_id, key)
    document = export_document(workflow)
    if body is not None:
        document["jobs"][job]["body"] = body
    if name is not None:
        document["jobs"][job]["name"] = name
    return store.replace_workflow(workflow.id, document, actor_id=actor.id)


def _plan_and_merge(actor, sandbox_id, **kwargs):
    plan = merging.plan_merge(actor, sandbox_id, kwargs.get("delete", ()))
    return merging.merge(actor, sandbox_id, fingerprint=plan.fingerprint, **kwargs)


# --- cloning --------------------------------------------------------------------------------


def test_a_clone_copies_workflows_settings_and_the_parent_document_of_the_moment(clinic):
    before = export_project(clinic.project.id)
    result = cloning.create_sandbox(clinic.admin, clinic.project.id)
    sandbox = result.sandbox
    assert sandbox.name == "Clinic sync sandbox"
    assert sandbox.parent_id == clinic.project.id and sandbox.cloned_at is not None
    assert sandbox.sandbox_base == before
    assert sandbox.egress_allowlist == ["10.0.0.5:8080"] and sandbox.alert_limit_count == 7
    copied = keyed_workflows(sandbox.id)
    assert sorted(copied) == ["case-intake", "patient-sync"]
    for workflow in copied.values():  # saved through the store: each has its first version
        count = db.session.scalar(
            select(func.count()).where(WorkflowSnapshot.workflow_id == workflow.id)
        )
        assert count == 1 and workflow.lock_version == 1


def test_a_clone_never_receives_the_parents_webhooks_nor_runs_its_schedules(clinic, sandbox):
    parent, copy = _workflow(clinic.project.id), _workflow(sandbox.id)
    theirs = {t.key: t for t in parent.triggers}
    mine = {t.key: t for t in copy.triggers}
    assert mine["webhook"].id != theirs["webhook"].id
    assert theirs["webhook"].custom_path == "clinic-a" and mine["webhook"].custom_path is None
    assert theirs["nightly"].enabled and not mine["nightly"].enabled
    assert mine["webhook"].enabled  # a webhook under a new address may take test requests


def test_only_the_cloners_credentials_are_shared_and_the_others_are_named(clinic):
    result = cloning.create_sandbox(clinic.admin, clinic.project.id, "  Try  new load ")
    sandbox = result.sandbox
    assert sandbox.name == "Try new load"
    shared = db.session.scalars(
        select(ProjectCredential.credential_id).where(ProjectCredential.project_id == sandbox.id)
    ).all()
    jobs = {s.key: s for s in _workflow(sandbox.id).steps}
    parent_jobs = {s.key: s for s in _workflow(clinic.project.id).steps}
    assert shared == [parent_jobs["fetch"].credential_id]  # the same credential, not a copy
    assert jobs["fetch"].credential_id == parent_jobs["fetch"].credential_id
    assert jobs["load"].credential_id is None  # the owner's: not the admin's to share
    assert [(n.name, n.owner) for n in result.not_shared] == [
        ("DHIS2 live", clinic.owner.display_name)
    ]
    members = db.session.execute(
        select(ProjectMember.user_id, ProjectMember.role).where(
            ProjectMember.project_id == sandbox.id
        )
    ).all()
    assert members == [(clinic.admin.id, Role.OWNER)]  # the parent's other members stay out


def test_a_clone_is_audited_on_both_projects(clinic, sandbox):
    events = dict(
        db.session.execute(
            select(AuditEvent.project_id, AuditEvent.event).where(
                AuditEvent.event.in_(["sandbox_created", "sandbox_cloned"])
            )
        ).all()
    )
    assert events == {sandbox.id: "sandbox_created", clinic.project.id: "sandbox_cloned"}


def test_relations_name_the_parent_and_its_sandboxes(clinic, sandbox):
    assert cloning.relations(sandbox).parent.id == clinic.project.id
    assert [s.id for s in cloning.relations(clinic.project).sandboxes] == [sandbox.id]
    assert cloning.parents_by_id([sandbox, clinic.project]) == {clinic.project.id: clinic.project}


@pytest.mark.parametrize(
    ("name", "field"),
    [("bad\x00name", "name"), ("x" * 201, "name")],
)
def test_a_bad_sandbox_name_is_refused_and_nothing_is_created(clinic, name, field):
    with pytest.raises(Invalid) as refused:
        cloning.create_sandbox(clinic.admin, clinic.project.id, name)
    assert refused.value.field == field
    assert cloning.relations(clinic.project).sandboxes == []


def test_only_admins_of_the_parent_may_clone_it(clinic):
    editor = factories.user()
    factories.member(clinic.project, editor, Role.EDITOR)
    with pytest.raises(Forbidden, match="needs the admin role in “Clinic sync”; yours is editor"):
        cloning.create_sandbox(editor, clinic.project.id)
    with pytest.raises(NotFound):
        cloning.create_sandbox(clinic.admin, uuid.uuid4())


# --- comparing ------------------------------------------------------------------------------


def test_a_fresh_sandbox_compares_equal_to_its_parent(clinic, sandbox):
    comparison = comparing.compare(clinic.admin, sandbox.id)
    # New webhook addresses, schedules off and credentials not shared are not differences.
    assert comparison.report.workflows == []
    assert comparison.parent_name == "Clinic sync"


def test_the_comparison_names_the_changed_step_and_diffs_its_body(clinic, sandbox):
    _edit(sandbox.id, clinic.admin, body='each(S.data, create("events", S.data))\n')
    report = comparing.compare(clinic.admin, sandbox.id).report
    [workflow] = report.workflows
    assert (workflow.key, workflow.kind) == ("patient-sync", "changed")
    assert workflow.entries == {"jobs": {"load": "changed"}}
    [body] = workflow.bodies
    assert body.job_name == "Load into DHIS2"
    assert '+each(S.data, create("events", S.data))' in body.lines
    assert any(line.startswith('-each(S.data, create("trackedEntities"') for line in body.lines)


def test_the_comparison_tells_a_deleted_workflow_from_one_the_parent_added(clinic, sandbox):
    store.delete_workflow(_workflow(sandbox.id, "case-intake").id, actor_id=clinic.admin.id)
    factories.workflow(clinic.project, name="Late addition")
    report = comparing.compare(clinic.admin, sandbox.id).report
    kinds = {w.key: (w.kind, w.note) for w in report.workflows}
    assert kinds["case-intake"] == ("removed", "Deleted in the sandbox.")
    assert kinds["late-addition"][0] == "removed"
    assert "after the clone" in kinds["late-addition"][1]


def test_a_project_that_is_not_a_sandbox_cannot_be_compared(clinic):
    with pytest.raises(Conflict, match="not a sandbox"):
        comparing.compare(clinic.owner, clinic.project.id)


# --- merging --------------------------------------------------------------------------------


def test_a_merge_brings_the_change_and_keeps_the_parents_webhooks_and_schedules(clinic, sandbox):
    parent_before = _workflow(clinic.project.id)
    version_before = parent_before.lock_version
    triggers_before = {t.key: (t.id, t.custom_path, t.enabled) for t in parent_before.triggers}
    _edit(sandbox.id, clinic.admin, body="log('new load')\n")
    plan = merging.plan_merge(clinic.admin, sandbox.id)
    assert not plan.parent_changed and not plan.needs_confirmation
    assert [w.key for w in plan.report.workflows] == ["patient-sync"]
    merging.merge(clinic.admin, sandbox.id, fingerprint=plan.fingerprint)

    parent = _workflow(clinic.project.id)
    jobs = {s.key: s for s in parent.steps}
    assert jobs["load"].body == "log('new load')\n"
    assert jobs["load"].credential_id is not None  # the owner's credential stays on the step
    assert {t.key: (t.id, t.custom_path, t.enabled) for t in parent.triggers} == triggers_before
    assert parent.lock_version == version_before + 1
    db.session.refresh(sandbox)
    assert sandbox.sandbox_base["workflows"]["patient-sync"]["jobs"]["load"]["body"] == (
        "log('new load')\n"
    )
    events = db.session.scalars(
        select(AuditEvent.event).where(AuditEvent.project_id.in_([sandbox.id, clinic.project.id]))
    ).all()
    assert "sandbox_merged" in events and "merged_into_parent" in events


def test_a_merge_after_the_parent_changed_the_same_step_warns_and_needs_the_tick(clinic, sandbox):
    _edit(sandbox.id, clinic.admin, body="log('sandbox load')\n")
    _edit(clinic.project.id, clinic.owner, body="log('hotfix in production')\n")
    plan = merging.plan_merge(clinic.admin, sandbox.id)
    assert plan.parent_changed and plan.needs_confirmation
    assert [c.path for c in plan.replaced] == ["workflows.patient-sync.jobs.load.body"]

    with pytest.raises(Invalid) as refused:
        merging.merge(clinic.admin, sandbox.id, fingerprint=plan.fingerprint)
    assert refused.value.field == merging.CONFIRM_FIELD
    assert {s.key: s.body for s in _workflow(clinic.project.id).steps}["load"] == (
        "log('hotfix in production')\n"
    )
    merging.merge(clinic.admin, sandbox.id, fingerprint=plan.fingerprint, understood=True)
    assert {s.key: s.body for s in _workflow(clinic.project.id).steps}["load"] == (
        "log('sandbox load')\n"
    )


def test_parent_changes_the_sandbox_never_touched_are_kept_without_a_tick(clinic, sandbox):
    _edit(sandbox.id, clinic.admin, body="log('sandbox load')\n")
    _edit(clinic.project.id, clinic.owner, key="case-intake", job="receive", name="Take case")
    plan = merging.plan_merge(clinic.admin, sandbox.id)
    assert plan.parent_changed and not plan.needs_confirmation
    assert [c.path for c in plan.parent_changes] == ["workflows.case-intake.jobs.receive.name"]
    merging.merge(clinic.admin, sandbox.id, fingerprint=plan.fingerprint)
    intake = _workflow(clinic.project.id, "case-intake")
    assert [s.name for s in intake.steps] == ["Take case"]  # the parent's fix survived


def test_a_second_merge_warns_only_about_newer_parent_changes(clinic, sandbox):
    _edit(sandbox.id, clinic.admin, body="log('one')\n")
    _edit(clinic.project.id, clinic.owner, body="log('parent one')\n")
    _plan_and_merge(clinic.admin, sandbox.id, understood=True)

    _edit(sandbox.id, clinic.admin, body="log('two')\n")
    plan = merging.plan_merge(clinic.admin, sandbox.id)
    assert plan.parent_changes == [] and not plan.needs_confirmation
    merging.merge(clinic.admin, sandbox.id, fingerprint=plan.fingerprint)
    assert {s.key: s.body for s in _workflow(clinic.project.id).steps}["load"] == "log('two')\n"


def test_a_workflow_deleted_in_the_sandbox_goes_only_when_ticked(clinic, sandbox):
    store.delete_workflow(_workflow(sandbox.id, "case-intake").id, actor_id=clinic.admin.id)
    _edit(sandbox.id, clinic.admin, body="log('x')\n")
    plan = merging.plan_merge(clinic.admin, sandbox.id)
    assert [(d.key, d.name) for d in plan.deletable] == [("case-intake", "Case intake")]
    merging.merge(clinic.admin, sandbox.id, fingerprint=plan.fingerprint)
    assert "case-intake" in keyed_workflows(clinic.project.id)  # not ticked: kept

    plan = merging.plan_merge(clinic.admin, sandbox.id, ["case-intake"])
    merging.merge(clinic.admin, sandbox.id, fingerprint=plan.fingerprint, delete=["case-intake"])
    assert "case-intake" not in keyed_workflows(clinic.project.id)
    assert merging.plan_merge(clinic.admin, sandbox.id).deletable == []


def test_a_merge_reviewed_before_someone_saved_is_refused(clinic, sandbox):
    _edit(sandbox.id, clinic.admin, body="log('x')\n")
    plan = merging.plan_merge(clinic.admin, sandbox.id)
    _edit(clinic.project.id, clinic.owner, key="case-intake", job="receive", name="Renamed")
    with pytest.raises(Conflict, match="changed while you reviewed"):
        merging.merge(clinic.admin, sandbox.id, fingerprint=plan.fingerprint)
    assert {s.key: s.body for s in _workflow(clinic.project.id).steps}["load"] != "log('x')\n"


def test_a_credential_the_parent_lacks_is_a_problem_and_nothing_changes(clinic, sandbox):
    other = credential_store.create_credential(
        clinic.admin, "Sandbox only", "raw", {"body.body": ['{"token": "t"}']}, False
    )
    sharing.share(clinic.admin, other.id, sandbox.id)
    workflow = _workflow(sandbox.id)
    document = export_document(workflow)
    document["jobs"]["load"]["credential"] = other.name
    document["jobs"]["load"]["body"] = "log('uses the sandbox credential')\n"
    store.replace_workflow(workflow.id, document, actor_id=clinic.admin.id)
    before = export_project(clinic.project.id)
    plan = merging.plan_merge(clinic.admin, sandbox.id)
    assert plan.problems and any("Sandbox only" in p.path for p in plan.problems)
    assert [w.key for w in plan.report.workflows] == ["patient-sync"]  # what was meant
    with pytest.raises(Invalid):
        merging.merge(clinic.admin, sandbox.id, fingerprint=plan.fingerprint)
    assert export_project(clinic.project.id) == before


def test_merging_needs_admin_in_both_projects_and_says_which_is_missing(clinic, sandbox):
    # The sandbox's owner made the parent's editor an admin of the sandbox.
    editor = factories.user()
    factories.member(clinic.project, editor, Role.EDITOR)
    factories.member(sandbox, editor, Role.ADMIN)
    with pytest.raises(Forbidden, match="admin role in “Clinic sync”; yours is editor"):
        merging.plan_merge(editor, sandbox.id)
    stranger = factories.user()
    factories.member(sandbox, stranger, Role.ADMIN)
    with pytest.raises(Forbidden, match="you are not a member of it"):
        merging.plan_merge(stranger, sandbox.id)


def test_merging_a_project_that_is_not_a_sandbox_or_an_unknown_one_is_refused(clinic):
    with pytest.raises(Conflict, match="not a sandbox"):
        merging.plan_merge(clinic.owner, clinic.project.id)
    with pytest.raises(NotFound):
        merging.plan_merge(clinic.owner, uuid.uuid4())


def test_nothing_to_merge_is_said_plainly(clinic, sandbox):
    plan = merging.plan_merge(clinic.admin, sandbox.id)
    assert plan.nothing_to_merge
    with pytest.raises(Invalid, match="nothing to merge"):
        merging.merge(clinic.admin, sandbox.id, fingerprint=plan.fingerprint)


def test_a_different_credential_under_the_parents_name_is_a_problem(clinic, sandbox):
    # The admin shares their own "DHIS2 live" into the sandbox: not the owner's of that name.
    factories.shared_dhis2_credential(clinic.admin, sandbox, "another-password")
    workflow = _workflow(sandbox.id)
    document = export_document(workflow)
    document["jobs"]["load"]["credential"] = "DHIS2 live"
    document["jobs"]["load"]["body"] = "log('with my own DHIS2 live')\n"
    store.replace_workflow(workflow.id, document, actor_id=clinic.admin.id)
    plan = merging.plan_merge(clinic.admin, sandbox.id)
    assert [p.path for p in plan.problems] == ["workflows.patient-sync.jobs.load.credential"]
    assert "not the one the parent has" in plan.problems[0].message
