"""Applying a project document: a round trip into a fresh instance gives the same document,
every problem is reported at its path and then nothing changes, only what the document
changes gets a new version, workflows are matched by id then name, `delete: true` deletes,
and bad input of every kind is refused with a path to fix."""

from __future__ import annotations

import copy
import uuid

import pytest
from sqlalchemy import func, select

from app import create_app
from app.config import Settings
from app.extensions import db as _db
from app.models import ProjectMember, Role, Workflow, WorkflowSnapshot
from app.services.project_code import document, importing
from app.services.project_code.importing import ProjectDocumentInvalid
from app.services.workflows import store
from tests import factories
from tests.services.project_code.sample_project import sample_project
from tests.support import database_url, recreate_database, redis_url


@pytest.fixture
def clinic(user):
    return sample_project(user)


def _problems(doc, project_id, actor=None, **kwargs) -> dict[str, str]:
    with pytest.raises(ProjectDocumentInvalid) as raised:
        importing.apply_project(doc, actor, project_id=project_id, **kwargs)
    return {p.path: p.message for p in raised.value.problems}


def _versions(project_id) -> dict[str, int]:
    rows = _db.session.execute(
        select(Workflow.name, Workflow.lock_version).where(
            Workflow.project_id == project_id, Workflow.deleted_at.is_(None)
        )
    )
    return dict(rows.all())


# --- the round trip -------------------------------------------------------------------


def _fresh_app(suffix: str):
    from workers.cli_support import upgrade_database

    url = database_url(suffix)
    recreate_database(url)
    app = create_app(Settings(env="test", database_url=url, redis_url=redis_url()))
    upgrade_database(app)
    return app


def test_export_import_into_a_fresh_instance_export_gives_the_same_text():
    first, second = _fresh_app("pc_first"), _fresh_app("pc_second")
    try:
        with first.app_context():
            owner = factories.user(email="ana@example.org")
            text = document.to_yaml(document.export_project(sample_project(owner).id))
            _db.session.remove()
        with second.app_context():
            owner = factories.user(email="ben@example.org")
            # Secrets never travel: the credential exists on the new instance by its name.
            from app.services.credentials import store as credentials

            credentials.create_credential(
                owner,
                "DHIS2 live",
                "dhis2",
                {
                    "body.base_url": ["https://dhis2.example.org"],
                    "body.username": ["admin"],
                    "body.password": ["other"],
                },
            )
            result = importing.apply_project(text, owner)
            again = document.to_yaml(document.export_project(result.project.id))
            role = _db.session.scalar(
                select(ProjectMember.role).where(ProjectMember.project_id == result.project.id)
            )
            _db.session.remove()
        assert again == text
        assert role is Role.OWNER
        assert "patient-sync" in text and "password" not in text
    finally:
        for app in (first, second):
            with app.app_context():
                _db.engine.dispose()


def test_applying_its_own_export_changes_nothing_and_adds_no_version(clinic, user):
    versions = _versions(clinic.id)
    for with_ids in (False, True):
        doc = document.export_project(clinic.id, with_ids=with_ids)
        assert importing.apply_project(doc, user, project_id=clinic.id).changes == []
    assert _versions(clinic.id) == versions


# --- all problems at once, nothing changed ---------------------------------------------


def test_three_errors_in_three_sections_are_all_reported_and_nothing_changes(clinic, user):
    before = document.to_yaml(document.export_project(clinic.id))
    doc = document.export_project(clinic.id)
    doc["description"] = "Changed, but must not be saved"
    doc["workflows"]["case-intake"]["name"] = "Intake renamed"
    doc["workflows"]["patient-sync"]["jobs"]["fetch"]["adaptor"] = "nope@1"
    doc["settings"]["egress_allowlist"].append("http://10.0.0.9/path")
    doc["credentials"]["Payroll"] = {"type": "http"}
    problems = _problems(doc, clinic.id, user)
    assert list(problems) == [
        "settings.egress_allowlist.2",
        "credentials.Payroll",
        "workflows.patient-sync.jobs.fetch.adaptor",
    ]
    assert "without http://" in problems["settings.egress_allowlist.2"]
    assert "shared into this project" in problems["credentials.Payroll"]
    assert "Unknown adaptor 'nope'" in problems["workflows.patient-sync.jobs.fetch.adaptor"]
    assert importing.check_project(doc, clinic.id) != []
    assert document.to_yaml(document.export_project(clinic.id)) == before


# --- what changes ------------------------------------------------------------------------


def test_a_changed_body_is_the_one_change_and_the_one_new_version(clinic, user):
    doc = document.export_project(clinic.id)
    doc["workflows"]["patient-sync"]["jobs"]["fetch"]["body"] = 'get("/v2/patients")\n'
    snapshots = _db.session.scalar(select(func.count()).select_from(WorkflowSnapshot))
    planned = importing.plan_project(doc, clinic.id, actor=user)
    assert _versions(clinic.id) == {"Case intake": 1, "Patient sync": 1}  # the plan wrote nothing
    result = importing.apply_project(doc, user, project_id=clinic.id)
    assert [(c.path, c.kind) for c in result.changes] == [
        ("workflows.patient-sync.jobs.fetch.body", "changed")
    ]
    assert planned == result.changes
    assert _versions(clinic.id) == {"Case intake": 1, "Patient sync": 2}
    assert _db.session.scalar(select(func.count()).select_from(WorkflowSnapshot)) == snapshots + 1
    sync = store.get_workflow(result.project and _id_of(clinic.id, "Patient sync"))
    assert {s.key: s.body for s in sync.steps}["fetch"] == 'get("/v2/patients")\n'


def test_settings_name_and_description_change(clinic, user):
    doc = document.export_project(clinic.id)
    doc.update(name="Clinic sync 2", description="Now with labs")
    doc["settings"] = {"concurrency": None, "require_mfa": True, "egress_allowlist": ["DHIS2.lan"]}
    result = importing.apply_project(doc, user, project_id=clinic.id)
    assert {c.path for c in result.changes} == {
        "name",
        "description",
        "settings.concurrency",
        "settings.require_mfa",
        "settings.egress_allowlist",
    }
    project = result.project
    assert (project.concurrency, project.require_mfa, project.egress_allowlist) == (
        None,
        True,
        ["dhis2.lan"],
    )
    assert project.alert_limit_count == 7  # settings left out are left as they are


def test_workflows_left_out_are_left_alone_and_new_ones_are_created(clinic, user):
    doc = document.export_project(clinic.id)
    doc["workflows"] = {"lab": {**doc["workflows"]["case-intake"], "name": "Lab results"}}
    result = importing.apply_project(doc, user, project_id=clinic.id)
    assert [(c.path, c.kind) for c in result.changes] == [("workflows.lab-results", "added")]
    assert _versions(clinic.id) == {"Case intake": 1, "Lab results": 1, "Patient sync": 1}


def test_matched_by_id_a_rename_is_a_changed_name_and_two_names_can_swap(clinic, user):
    doc = document.export_project(clinic.id, with_ids=True)
    ids = {key: entry["id"] for key, entry in doc["workflows"].items()}
    wf = doc["workflows"]
    wf["case-intake"]["name"], wf["patient-sync"]["name"] = "Patient sync", "Case intake"
    result = importing.apply_project(doc, user, project_id=clinic.id)
    assert sorted(c.path for c in result.changes) == [
        "workflows.case-intake.name",
        "workflows.patient-sync.name",
    ]
    assert _id_of(clinic.id, "Patient sync") == uuid.UUID(ids["case-intake"])


def test_delete_true_deletes_by_name_or_id(clinic, user):
    doc = {"name": "Clinic sync", "workflows": {"x": {"name": "Case intake", "delete": True}}}
    result = importing.apply_project(doc, user, project_id=clinic.id)
    assert [(c.path, c.kind) for c in result.changes] == [("workflows.case-intake", "removed")]
    sync_id = str(_id_of(clinic.id, "Patient sync"))
    doc = {"name": "Clinic sync", "workflows": {"y": {"id": sync_id, "delete": True}}}
    importing.apply_project(doc, user, project_id=clinic.id)
    assert _versions(clinic.id) == {}


def test_delete_of_something_unknown_is_a_problem(clinic, user):
    doc = {
        "name": "Clinic sync",
        "workflows": {
            "a": {"id": str(uuid.uuid4()), "delete": True},
            "b": {"name": "Nothing like it", "delete": True},
            "c": {"delete": True},
            "d": {"name": "Case intake", "delete": "yes"},
            "e": {"id": "../../etc", "delete": True},
        },
    }
    problems = _problems(doc, clinic.id, user)
    assert list(problems) == [
        "workflows.a.id",
        "workflows.b",
        "workflows.c",
        "workflows.d.delete",
        "workflows.e.id",
    ]
    assert _versions(clinic.id) == {"Case intake": 1, "Patient sync": 1}


def test_a_stale_lock_version_refuses_to_overwrite_newer_work(clinic, user):
    doc = document.export_project(clinic.id, with_ids=True)
    newer = document.export_project(clinic.id)["workflows"]["case-intake"]
    newer["jobs"]["receive"]["body"] = "log('someone else')\n"
    store.replace_workflow(_id_of(clinic.id, "Case intake"), newer)
    doc["workflows"]["case-intake"]["jobs"]["receive"]["body"] = "log('mine')\n"
    problems = _problems(doc, clinic.id, user)
    assert list(problems) == ["workflows.case-intake.lock_version"]
    assert "version 1 then, 2 now" in problems["workflows.case-intake.lock_version"]


def test_names_and_webhook_paths_must_stay_unique(clinic, user):
    other = factories.project(user)
    taken = document.export_project(clinic.id)["workflows"]["case-intake"]
    taken["triggers"]["webhook"]["custom_path"] = "intake"
    store.create_workflow(other.id, taken)
    doc = document.export_project(clinic.id)
    doc["workflows"]["copy"] = copy.deepcopy(doc["workflows"]["case-intake"])
    doc["workflows"]["patient-sync"]["triggers"]["webhook"]["custom_path"] = "intake"
    problems = _problems(doc, clinic.id, user)
    assert set(problems) == {
        "workflows.copy",
        "workflows.patient-sync.triggers.webhook.custom_path",
    }
    assert "workflows.case-intake already names this workflow" in problems["workflows.copy"]
    doc["workflows"]["copy"].update(id=str(uuid.uuid4()))
    assert "workflows.copy.id" in _problems(doc, clinic.id, user)
    del doc["workflows"]["copy"]["id"]
    doc["workflows"]["copy"]["name"] = "Copy"
    doc["workflows"]["case-intake"]["name"] = "Copy"
    assert (
        "The name 'Copy' is taken by workflows.case-intake"
        in (_problems(doc, clinic.id, user)["workflows.copy.name"])
    )
    assert "already taken" in problems["workflows.patient-sync.triggers.webhook.custom_path"]


def test_a_job_credential_must_be_shared_into_the_project(clinic, user):
    doc = document.export_project(clinic.id)
    doc["workflows"]["case-intake"]["jobs"]["receive"]["credential"] = "Someone else's"
    problems = _problems(doc, clinic.id, user)
    assert list(problems) == ["workflows.case-intake.jobs.receive.credential"]


def test_a_credential_of_another_type_is_a_problem_at_its_type(clinic, user):
    doc = document.export_project(clinic.id)
    doc["credentials"]["DHIS2 live"]["type"] = "http"
    assert list(_problems(doc, clinic.id, user)) == ["credentials.DHIS2 live.type"]


def test_a_document_of_another_project_is_refused_with_ids(clinic, user):
    other = factories.project(user)
    doc = document.export_project(clinic.id, with_ids=True)
    problems = _problems(doc, other.id, user)
    assert "id" in problems and "workflows.patient-sync.id" in problems


# --- creating a project ----------------------------------------------------------------


def test_a_new_project_shares_the_owners_credentials_it_names(clinic, user):
    doc = document.export_project(clinic.id, with_ids=True)  # ids of another project: ignored
    doc["name"] = "Clinic copy"
    result = importing.apply_project(doc, user)
    assert result.project.id != clinic.id
    assert document.export_project(result.project.id)["credentials"] == {
        "DHIS2 live": {"type": "dhis2"}
    }
    assert _versions(result.project.id) == {"Case intake": 1, "Patient sync": 1}


def test_a_new_project_needs_credentials_of_its_owner(clinic, user):
    stranger = factories.user()
    problems = _problems(document.export_project(clinic.id), None, stranger)
    assert set(problems) == {
        "credentials.DHIS2 live",
        "workflows.patient-sync.jobs.load.credential",
    }
    assert "You have no credential" in problems["credentials.DHIS2 live"]


# --- bodies from files -------------------------------------------------------------------


def test_bodies_from_files_are_read_with_a_reader_and_refused_without(clinic, user):
    split, files = document.split_bodies(document.export_project(clinic.id))
    files["jobs/case-intake/receive.py"] = "log('from a file')\n"
    problems = _problems(split, clinic.id, user)
    assert len(problems) == 4 and all(p.endswith(".body") for p in problems)
    assert "write the job code inline" in problems["workflows.case-intake.jobs.receive.body"]
    result = importing.apply_project(split, user, project_id=clinic.id, read_file=files.__getitem__)
    assert [c.path for c in result.changes] == ["workflows.case-intake.jobs.receive.body"]
    split["workflows"]["case-intake"]["jobs"]["report"]["body"] = {"path": "../x"}
    problems = _problems(split, clinic.id, user, read_file=files.__getitem__)
    assert list(problems) == ["workflows.case-intake.jobs.report.body"]


# --- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("doc", "path", "words"),
    [
        ("name: [unclosed", "", "not valid YAML"),
        ("- a\n- list\n", "", "must be a mapping"),
        (b"\xff\xfe", "", "UTF-8"),
        ({"name": "A\x00B"}, "", "NUL"),
        ("name: x\nworkflows: " + "[" * 80 + "]" * 80, "", "nested too deeply"),
        ({"name": 5}, "name", "needs a name"),
        ({"name": "x" * 201}, "name", "At most 200"),
        ({"name": "x", "colour": "red"}, "colour", "Unknown key"),
        ({"name": "x", "description": ["a"]}, "description", "must be text"),
        ({"name": "x", "settings": []}, "settings", "must be a mapping"),
        ({"name": "x", "settings": {"colour": 1}}, "settings.colour", "Unknown setting"),
        (
            {"name": "x", "settings": {"require_mfa": "yes"}},
            "settings.require_mfa",
            "true or false",
        ),
        ({"name": "x", "settings": {"concurrency": 0}}, "settings.concurrency", "from 1 to 1000"),
        (
            {"name": "x", "settings": {"alert_limit_count": True}},
            "settings.alert_limit_count",
            "whole",
        ),
        (
            {"name": "x", "settings": {"egress_allowlist": "a.lan"}},
            "settings.egress_allowlist",
            "list",
        ),
        (
            {"name": "x", "settings": {"egress_allowlist": [7]}},
            "settings.egress_allowlist.0",
            "text",
        ),
        ({"name": "x", "credentials": ["a"]}, "credentials", "mapping"),
        (
            {"name": "x", "credentials": {"Nope": {"secret": "x"}}},
            "credentials.Nope.secret",
            "never",
        ),
        ({"name": "x", "workflows": []}, "workflows", "mapping"),
        ({"name": "x", "workflows": {"bad key!": {}}}, "workflows.bad key!", "Keys use"),
        ({"name": "x", "workflows": {"w": "text"}}, "workflows.w", "mapping"),
        (
            {"name": "x", "workflows": {"w": {"name": "W", "lock_version": "2"}}},
            "workflows.w.lock_version",
            "whole",
        ),
        (
            {"name": "x", "workflows": {"w": {"name": "W", "jobs": {"j": {"colour": 1}}}}},
            "workflows.w.jobs.j.colour",
            "",
        ),
        (
            {"name": "x", "workflows": {"w": {"name": "W", "jobs": 5}}},
            "workflows.w.jobs",
            "must be a mapping",
        ),
    ],
)
def test_bad_input_is_refused_at_its_path(clinic, user, doc, path, words):
    if isinstance(doc, dict) and isinstance(doc.get("workflows"), dict):
        for entry in doc["workflows"].values():
            if isinstance(entry, dict) and entry.get("name") == "W":
                entry["name"] = "Case intake"  # matched, so lock_version is checked
    before = document.to_yaml(document.export_project(clinic.id))
    problems = _problems(doc, clinic.id, user)
    assert path in problems, problems
    assert words in problems[path]
    assert document.to_yaml(document.export_project(clinic.id)) == before


def test_plan_of_a_bad_document_raises_with_every_problem(clinic):
    with pytest.raises(ProjectDocumentInvalid) as raised:
        importing.plan_project({"name": "", "settings": {"concurrency": -1}}, clinic.id)
    assert [p.path for p in raised.value.problems] == ["name", "settings.concurrency"]


def _id_of(project_id, name) -> uuid.UUID:
    return _db.session.scalar(
        select(Workflow.id).where(
            Workflow.project_id == project_id, Workflow.name == name, Workflow.deleted_at.is_(None)
        )
    )


def test_each_changed_workflow_gets_a_version_with_the_message(clinic, user):
    doc = document.export_project(clinic.id)
    doc["workflows"]["patient-sync"]["jobs"]["fetch"]["body"] = 'get("/v3")\n'
    importing.apply_project(doc, user, project_id=clinic.id)
    doc["workflows"]["patient-sync"]["jobs"]["fetch"]["body"] = 'get("/v4")\n'
    importing.apply_project(doc, user, project_id=clinic.id, message="Pulled from git: v4")
    messages = _db.session.scalars(
        select(WorkflowSnapshot.message)
        .where(WorkflowSnapshot.workflow_id == _id_of(clinic.id, "Patient sync"))
        .order_by(WorkflowSnapshot.lock_version)
    )
    assert list(messages) == [None, "Applied from project.yaml", "Pulled from git: v4"]


def test_a_name_taken_between_the_check_and_the_writes_changes_nothing(clinic, user, monkeypatch):
    doc = document.export_project(clinic.id)
    doc["description"] = "Not saved"
    doc["workflows"]["lab"] = {**doc["workflows"]["case-intake"], "name": "Lab results"}
    read = importing.read_project

    def read_then_someone_saves(*args, **kwargs):
        reading = read(*args, **kwargs)
        factories.workflow(clinic, name="Lab results")  # saved in the builder meanwhile
        return reading

    monkeypatch.setattr(importing, "read_project", read_then_someone_saves)
    problems = _problems(doc, clinic.id, user)
    assert list(problems) == ["workflows.lab.name"]
    assert document.export_project(clinic.id)["description"] == "Registrations from the clinics"


def test_a_document_with_too_many_workflows_is_refused(clinic, user):
    doc = {"name": "x", "workflows": {f"w{n}": {"name": f"W{n}"} for n in range(501)}}
    assert _problems(doc, clinic.id, user) == {
        "workflows": "At most 500 workflows in one document."
    }
