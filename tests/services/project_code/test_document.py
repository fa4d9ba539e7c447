"""Writing a project out as one document: settings, shared credentials by name, workflows
under stable keys, ids only when asked, YAML that reads back the same, and job bodies split
into files and read back in (refusing paths that leave the project's directory)."""

from __future__ import annotations

import pytest
import yaml

from app.services.project_code import document
from app.services.project_code.document import ProjectDocumentInvalid
from tests import factories
from tests.services.project_code.sample_project import sample_project


@pytest.fixture
def clinic(user):
    return sample_project(user)


def test_export_holds_settings_credentials_and_workflows_without_ids(clinic):
    doc = document.export_project(clinic.id)
    assert list(doc) == ["name", "description", "settings", "credentials", "workflows"]
    assert doc["name"] == "Clinic sync"
    assert doc["description"] == "Registrations from the clinics"
    assert doc["settings"] == {
        "egress_allowlist": ["10.0.0.5:8080", "dhis2.lan"],
        "require_mfa": False,
        "concurrency": 5,
        "alert_limit_count": 7,
        "alert_limit_minutes": 5,
        "alert_include_logs": True,
        "run_timeout_s": None,
        "step_memory_mb": None,
        "max_payload_kb": None,
        "discard_logs": False,
    }
    assert doc["credentials"] == {"DHIS2 live": {"type": "dhis2"}}
    assert list(doc["workflows"]) == ["case-intake", "patient-sync"]
    sync = doc["workflows"]["patient-sync"]
    assert sync["name"] == "Patient sync" and sync["concurrency"] == 2
    assert list(sync["triggers"]) == ["nightly", "webhook"]
    assert sync["jobs"]["load"]["credential"] == "DHIS2 live"
    assert sync["edges"]["fetch->load"]["condition_expression"] == "len(state['data']) > 0"
    assert "id" not in yaml.safe_dump(doc).split(":")[0]
    assert not _has_key(doc, "id")


def test_export_with_ids_names_every_entry_and_the_lock_version(clinic):
    doc = document.export_project(clinic.id, with_ids=True)
    assert doc["id"] == str(clinic.id)
    sync = doc["workflows"]["patient-sync"]
    assert list(sync)[:2] == ["id", "lock_version"] and sync["lock_version"] == 1
    for section in ("triggers", "jobs", "edges"):
        assert all(len(entry["id"]) == 36 for entry in sync[section].values()), section


def test_keys_are_slugs_made_unique_in_name_order(user):
    project = factories.project(user)
    for name in ("Sync!", "sync", "Ünïcode sync", "???"):
        factories.workflow(project, name=name)
    keys = {
        entry["name"]: key
        for key, entry in document.export_project(project.id)["workflows"].items()
    }
    assert keys == {
        "???": "workflow",
        "Sync!": "sync",
        "sync": "sync-2",
        "Ünïcode sync": "unicode-sync",
    }


def test_keys_and_their_order_do_not_depend_on_the_database_collation(user):
    project = factories.project(user)
    for name in ("b", "A", "B!", "a"):
        factories.workflow(project, name=name)
    doc = document.export_project(project.id)
    assert [(key, entry["name"]) for key, entry in doc["workflows"].items()] == [
        ("a", "A"),
        ("a-2", "a"),
        ("b", "B!"),
        ("b-2", "b"),
    ]


def test_yaml_writes_bodies_as_blocks_and_reads_back_the_same(clinic):
    doc = document.export_project(clinic.id)
    text = document.to_yaml(doc)
    assert "body: |\n" in text
    assert yaml.safe_load(text) == doc
    assert document.to_yaml(yaml.safe_load(text)) == text


def test_awkward_text_still_reads_back(user):
    doc = {"name": "x", "workflows": {"a": {"jobs": {"j": {"body": "trailing  \n\ttab\n"}}}}}
    assert yaml.safe_load(document.to_yaml(doc)) == doc


def test_split_then_inline_gives_the_document_back(clinic):
    doc = document.export_project(clinic.id)
    split, files = document.split_bodies(doc)
    assert split["workflows"]["patient-sync"]["jobs"]["fetch"]["body"] == {
        "path": "jobs/patient-sync/fetch.py"
    }
    assert files["jobs/case-intake/report.py"] == 'log("intake failed")\n'
    assert isinstance(doc["workflows"]["patient-sync"]["jobs"]["fetch"]["body"], str)
    assert document.inline_bodies(split, files.__getitem__) == doc


def test_directory_reader_reads_files_below_the_directory_only(clinic, tmp_path):
    split, files = document.split_bodies(document.export_project(clinic.id))
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    (tmp_path / "outside.py").write_text("secret")
    (tmp_path.parent / f"{tmp_path.name}-secret.py").write_text("secret")
    (tmp_path / "jobs" / "link.py").symlink_to(tmp_path.parent / f"{tmp_path.name}-secret.py")
    read = document.directory_reader(tmp_path / "jobs" / "..")
    assert (
        document.inline_bodies(split, read)["workflows"]["case-intake"]["jobs"]["report"]["body"]
        == 'log("intake failed")\n'
    )
    with pytest.raises(PermissionError):
        document.directory_reader(tmp_path / "jobs")("../outside.py")
    with pytest.raises(PermissionError):
        read("jobs/link.py")


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"path": "../x.py"}, "'..'"),
        ({"path": "jobs/../../x.py"}, "'..'"),
        ({"path": "/etc/passwd"}, "absolute"),
        ({"path": "C:/x.py"}, "absolute"),
        ({"path": "jobs\\x.py"}, "forward slashes"),
        ({"path": "jobs/x\x00.py"}, "forward slashes"),
        ({"path": ""}, "empty"),
        ({"path": 3}, "{path: jobs/"),
        ({"path": "jobs/x.py", "extra": 1}, "{path: jobs/"),
        ({"path": "jobs/missing.py"}, "no file jobs/missing.py"),
    ],
)
def test_bad_body_paths_are_problems_at_the_body(body, words):
    doc = {"workflows": {"w": {"jobs": {"a": {"body": body}, "b": {"body": "ok"}}}}}
    with pytest.raises(ProjectDocumentInvalid) as raised:
        document.inline_bodies(doc, {"jobs/x.py": "x"}.__getitem__)
    [problem] = raised.value.problems
    assert problem.path == "workflows.w.jobs.a.body"
    assert words in problem.message


def test_every_bad_path_is_collected_when_a_list_is_given():
    doc = {
        "workflows": {
            "w": {"jobs": {"a": {"body": {"path": "../a"}}, "b": {"body": {"path": "/b"}}}}
        }
    }
    problems: list = []
    result = document.inline_bodies(doc, lambda path: "", problems)
    assert [p.path for p in problems] == ["workflows.w.jobs.a.body", "workflows.w.jobs.b.body"]
    assert result["workflows"]["w"]["jobs"]["a"]["body"] == {"path": "../a"}


def test_a_file_that_is_not_text_or_holds_nul_is_refused(tmp_path):
    (tmp_path / "bin.py").write_bytes(b"\xff\xfe")
    (tmp_path / "nul.py").write_text("a\x00b")
    doc = {
        "workflows": {
            "w": {"jobs": {"a": {"body": {"path": "bin.py"}}, "b": {"body": {"path": "nul.py"}}}}
        }
    }
    problems: list = []
    document.inline_bodies(doc, document.directory_reader(tmp_path), problems)
    assert ["UTF-8" in problems[0].message, "NUL" in problems[1].message] == [True, True]


def _has_key(value, key) -> bool:
    if isinstance(value, dict):
        return key in value or any(_has_key(item, key) for item in value.values())
    return False
