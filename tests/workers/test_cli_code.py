"""`ferry pull`, `ferry diff` and `ferry deploy` without a running server: where the endpoint
and token come from, the directory's layout and state, the errors that stop a command before
any request, how problems and changes are printed, and the client's answers to a real Ferry
app (in this process) refusing a token or not knowing a project. The whole round trip
against a running server is tests/engine/test_cli_pull_deploy.py."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from app.services import api_tokens
from app.services.project_code.document import export_project
from tests import factories
from tests.services.project_code.sample_project import sample_project
from tests.support import free_port
from workers.cli import main
from workers.project_code import directory as files
from workers.project_code.client import Api, Refused, project_id_for
from workers.project_code.config import Connection, resolve
from workers.project_code.failure import Failure
from workers.project_code.report import change_lines, problem_lines, syntax_warnings

NOWHERE = "http://127.0.0.1:9"  # the discard port: nothing answers there


def failure(call, *args, **kwargs) -> Failure:
    with pytest.raises(Failure) as raised:
        call(*args, **kwargs)
    return raised.value


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """An empty home with no config file, and no FERRY_* variables set."""
    for name in ("FERRY_ENDPOINT", "FERRY_API_TOKEN", "FERRY_CONFIG", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def write_config(home: Path, text: str) -> Path:
    path = home / ".config" / "ferry" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def ferry(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


# --- where the endpoint and token come from ---------------------------------------------


def test_options_beat_environment_which_beats_the_config_file(home):
    config = write_config(home, 'endpoint = "https://file.example.org/"\ntoken = "fry_file"\n')
    env = {"HOME": str(home), "FERRY_ENDPOINT": "https://env.example.org", "FERRY_API_TOKEN": "t"}
    assert resolve("https://option.example.org", "fry_option", env) == Connection(
        "https://option.example.org", "fry_option", "--endpoint", "--token"
    )
    assert resolve(None, None, env) == Connection(
        "https://env.example.org", "t", "FERRY_ENDPOINT", "FERRY_API_TOKEN"
    )
    # The file's endpoint loses its trailing slash, so state files compare equal.
    assert resolve(None, None, {"HOME": str(home)}) == Connection(
        "https://file.example.org", "fry_file", str(config), str(config)
    )


def test_the_directory_s_endpoint_is_the_last_resort(home):
    env = {"HOME": str(home), "FERRY_API_TOKEN": "t"}
    found = resolve(None, None, env, pulled_from="http://127.0.0.1:5000")
    assert (found.endpoint, found.endpoint_source) == ("http://127.0.0.1:5000", ".ferry/state.json")
    env["FERRY_ENDPOINT"] = "http://other:5000"
    assert resolve(None, None, env, pulled_from="http://127.0.0.1:5000").endpoint == (
        "http://other:5000"
    )


def test_ferry_config_names_the_file(home, tmp_path):
    path = tmp_path / "work.toml"
    path.write_text('endpoint = "https://work.example.org"\ntoken = "fry_work"\n')
    found = resolve(None, None, {"FERRY_CONFIG": str(path), "HOME": str(home)})
    assert (found.endpoint, found.token) == ("https://work.example.org", "fry_work")


def test_a_missing_endpoint_or_token_says_how_to_give_it(home):
    missing = failure(resolve, None, "t", {"HOME": str(home)})
    assert missing.exit_code == 2
    assert "--endpoint" in missing.message and "FERRY_ENDPOINT" in missing.message
    assert "config.toml" in missing.message
    missing = failure(resolve, "https://x.example.org", None, {"HOME": str(home)})
    assert missing.exit_code == 2
    assert "FERRY_API_TOKEN" in missing.message and "create-token" in missing.message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('endpoint = "https://x\ntoken = "t"\n', "not valid TOML"),
        ("token = 42\n", "`token` must be text"),
        ('endpoint = "ferry.example.org"\ntoken = "t"\n', "must start with http:// or https://"),
    ],
)
def test_a_bad_config_file_is_named(home, text, words):
    path = write_config(home, text)
    refused = failure(resolve, None, None, {"HOME": str(home)})
    assert refused.exit_code == 2
    assert words in refused.message
    assert str(path) in refused.message or "ferry.example.org" in refused.message


def test_a_ferry_config_that_does_not_exist_is_an_error(home, tmp_path):
    refused = failure(resolve, "https://x.org", "t", {"FERRY_CONFIG": str(tmp_path / "nope")})
    assert "FERRY_CONFIG names" in refused.message and refused.exit_code == 2


def test_a_command_without_endpoint_exits_2_before_any_request(home, tmp_path):
    result = ferry("pull", str(uuid.uuid4()), str(tmp_path / "here"))
    assert result.exit_code == 2
    assert "No Ferry server given" in result.output
    assert not (tmp_path / "here").exists()


# --- the directory ------------------------------------------------------------------------


@pytest.fixture
def pulled(db, tmp_path):
    """A sample project written out as `ferry pull` writes it; yields (dir, plain document)."""
    project = sample_project(factories.user())
    with_ids = export_project(project.id, with_ids=True)
    plain = export_project(project.id)
    directory = tmp_path / "clinic"
    written = files.write_project(directory, files.strip_ids(with_ids), [])
    files.write_state(directory, files.State(NOWHERE, str(project.id), {}, written))
    return directory, plain


def test_pull_layout_bodies_in_job_files_and_back(pulled):
    directory, plain = pulled
    text = (directory / "project.yaml").read_text()
    assert "path: jobs/patient-sync/fetch.py" in text
    assert "get(" not in text
    fetch = plain["workflows"]["patient-sync"]["jobs"]["fetch"]["body"]
    assert (directory / "jobs/patient-sync/fetch.py").read_text() == fetch
    assert sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*.py")) == [
        "jobs/case-intake/receive.py",
        "jobs/case-intake/report.py",
        "jobs/patient-sync/fetch.py",
        "jobs/patient-sync/load.py",
    ]
    local = files.read_project(directory)
    assert local.document == plain
    assert local.body_files["workflows.patient-sync.jobs.fetch.body"] == (
        "jobs/patient-sync/fetch.py"
    )
    state = json.loads((directory / ".ferry/state.json").read_text())
    assert set(state) == {"endpoint", "project_id", "workflows", "files"}
    assert set(state["files"]) == {"project.yaml", *local.body_files.values()}


def test_strip_ids_gives_the_plain_export(db):
    project = sample_project(factories.user())
    assert files.strip_ids(export_project(project.id, with_ids=True)) == export_project(project.id)


def test_local_changes_are_edited_or_removed_files(pulled):
    directory, _ = pulled
    state = files.read_state(directory)
    assert files.local_changes(directory, state) == []
    (directory / "jobs/patient-sync/fetch.py").write_text("log('changed')\n")
    (directory / "jobs/case-intake/report.py").unlink()
    assert files.local_changes(directory, state) == [
        "jobs/case-intake/report.py",
        "jobs/patient-sync/fetch.py",
    ]


def test_a_new_pull_removes_job_files_the_server_no_longer_has(pulled):
    directory, plain = pulled
    state = files.read_state(directory)
    del plain["workflows"]["case-intake"]
    files.write_project(directory, plain, list(state.files))
    assert not (directory / "jobs/case-intake").exists()
    assert (directory / "jobs/patient-sync/fetch.py").exists()


def test_pull_refuses_to_overwrite_changes_not_deployed(pulled, home):
    directory, _ = pulled
    state = files.read_state(directory)
    (directory / "jobs/patient-sync/fetch.py").write_text("log('mine')\n")
    result = ferry("pull", state.project_id, str(directory), "--token", "t")
    assert result.exit_code == 2, result.output
    assert "has changes not deployed (jobs/patient-sync/fetch.py)" in result.output
    assert "--force" in result.output
    assert (directory / "jobs/patient-sync/fetch.py").read_text() == "log('mine')\n"


def test_pull_refuses_a_directory_holding_another_project(pulled, home):
    directory, _ = pulled
    result = ferry("pull", str(uuid.uuid4()), str(directory), "--token", "t")
    assert result.exit_code == 2
    assert "holds project" in result.output


def test_pull_refuses_a_project_yaml_it_did_not_write(home, tmp_path):
    (tmp_path / "project.yaml").write_text("name: Mine\n")
    result = ferry("pull", str(uuid.uuid4()), str(tmp_path), "--endpoint", NOWHERE, "--token", "t")
    assert result.exit_code == 2
    assert "did not pull" in result.output


def test_diff_and_deploy_need_a_pulled_directory(home, tmp_path):
    for command in ("diff", "deploy"):
        result = ferry(command, str(tmp_path), "--endpoint", NOWHERE, "--token", "t")
        assert result.exit_code == 2
        assert "ferry pull PROJECT" in result.output


def test_a_malformed_project_yaml_names_its_line(pulled, home):
    directory, _ = pulled
    (directory / "project.yaml").write_text("name: Clinic\nworkflows:\n  - [unclosed\n")
    result = ferry("diff", str(directory), "--token", "t")
    assert result.exit_code == 2
    assert "is not valid YAML" in result.output and "line 4" in result.output


@pytest.mark.parametrize(
    ("yaml_text", "words"),
    [
        ("- a list\n", "must hold a mapping"),
        ('name: x\nbad: "\\0"\n', "NUL character"),
    ],
)
def test_project_yaml_that_is_not_a_project(pulled, home, yaml_text, words):
    directory, _ = pulled
    (directory / "project.yaml").write_text(yaml_text)
    result = ferry("deploy", str(directory), "--token", "t", "--yes")
    assert result.exit_code == 2
    assert words in result.output


def test_missing_and_unsafe_body_files_are_each_named_with_their_line(pulled, home, tmp_path):
    directory, _ = pulled
    (tmp_path / "secret.py").write_text("outside")
    (directory / "jobs/patient-sync/load.py").unlink()
    (directory / "jobs/case-intake/report.py").unlink()
    (directory / "jobs/case-intake/report.py").symlink_to(tmp_path / "secret.py")
    text = (directory / "project.yaml").read_text()
    text = text.replace("path: jobs/case-intake/receive.py", "path: ../secret.py")
    (directory / "project.yaml").write_text(text)
    refused = failure(files.read_project, directory)
    assert refused.exit_code == 2
    assert "3 job bodies" in refused.message
    lines = "\n".join(refused.details)
    receive_line = text.splitlines().index("      receive:") + 1
    assert f"project.yaml:{receive_line + 4}: workflows.case-intake.jobs.receive.body" in lines
    assert "climbs out" in lines
    assert "workflows.case-intake.jobs.report.body: The file jobs/case-intake/report.py " in lines
    assert "There is no file jobs/patient-sync/load.py" in lines


def test_files_are_never_written_outside_the_directory(tmp_path):
    refused = failure(files.inside, tmp_path, "../escape.py")
    assert "not a file inside" in refused.message
    assert failure(files.inside, tmp_path, "/etc/passwd").exit_code == 2


def test_a_damaged_state_file_says_to_pull_again(pulled):
    directory, _ = pulled
    (directory / ".ferry/state.json").write_text("{not json")
    assert "pull the project again" in failure(files.read_state, directory).message


# --- what is printed ----------------------------------------------------------------------


def test_problems_point_at_the_file_and_line_to_fix(pulled):
    directory, _ = pulled
    local = files.read_project(directory)
    text_lines = local.text.splitlines()
    problems = [
        {"path": "workflows.patient-sync.jobs.fetch.body", "message": "Syntax error on line 2."},
        {"path": "workflows.patient-sync.jobs.load.adaptor", "message": "Unknown adaptor."},
        {"path": "settings.egress_allowlist.1", "message": "Not a host."},
        {"path": "", "message": "Something about the whole document."},
    ]
    lines = problem_lines(problems, local)
    assert lines[0] == (
        "jobs/patient-sync/fetch.py:2: workflows.patient-sync.jobs.fetch.body: "
        "Syntax error on line 2."
    )
    adaptor_line = int(lines[1].split(":")[1])
    assert text_lines[adaptor_line - 1].strip() == "adaptor: dhis2@1"
    entry_line = int(lines[2].split(":")[1])
    assert text_lines[entry_line - 1].strip() == "- dhis2.lan"
    assert lines[3] == "project.yaml: Something about the whole document."


def test_changes_list_paths_and_a_line_diff_of_each_changed_body(pulled):
    _, plain = pulled
    local = json.loads(json.dumps(plain))
    local["workflows"]["patient-sync"]["jobs"]["fetch"]["body"] = 'get("https://example.org/b")\n'
    changes = [
        {"path": "workflows.patient-sync.jobs.fetch.body", "kind": "changed"},
        {"path": "workflows.new-flow", "kind": "added"},
        {"path": "workflows.case-intake", "kind": "removed"},
    ]
    lines = change_lines(changes, plain, local)
    assert lines == [
        "  ~ workflows.patient-sync.jobs.fetch.body",
        "      @@ -1 +1 @@",
        '      -get("https://example.org/api/patients")',
        '      +get("https://example.org/b")',
        "  + workflows.new-flow",
        "  - workflows.case-intake",
    ]


# --- the client against a real Ferry app (in this process) --------------------------------


@pytest.fixture
def api_of(app, db):
    """An Api talking to the test app through WSGI (the test's transaction is shared)."""

    def make(token: str) -> Api:
        connection = Connection("http://ferry.test", token, "--endpoint", "FERRY_API_TOKEN")
        return Api(connection, transport=httpx.WSGITransport(app=app))

    return make


def test_a_refused_token_names_where_it_came_from(api_of):
    refused = failure(api_of("fry_not-a-token").projects)
    assert refused.exit_code == 1
    assert "refused the API token from FERRY_API_TOKEN (401)" in refused.message
    assert "Authorization: Bearer" in refused.message


def test_an_unknown_project_is_a_404_naming_it(api_of, user):
    _, token = api_tokens.create_token(user.id, "cli")
    missing = str(uuid.uuid4())
    refused = failure(api_of(token).workflows, missing)
    assert refused.exit_code == 1
    assert f"Project {missing} is not on http://ferry.test" in refused.message


def test_a_project_is_found_by_its_name(api_of, user, project):
    _, token = api_tokens.create_token(user.id, "cli")
    api = api_of(token)
    assert project_id_for(api, "Clinic intake") == str(project.id)
    assert project_id_for(api, "clinic INTAKE") == str(project.id)
    assert project_id_for(api, str(project.id)) == str(project.id)
    assert "no project named 'Nope'" in failure(project_id_for, api, "Nope").message


def test_a_server_that_is_down_exits_3(home, tmp_path):
    port = free_port()
    result = ferry(
        "pull",
        "Some project",
        str(tmp_path / "x"),
        "--endpoint",
        f"http://127.0.0.1:{port}",
        "--token",
        "t",
    )
    assert result.exit_code == 3
    assert f"Cannot reach Ferry at http://127.0.0.1:{port} (from --endpoint)" in result.output
    assert not (tmp_path / "x").exists()


def test_the_document_keeps_the_server_s_order_and_ids(api_of, db):
    owner = factories.user()
    project = sample_project(owner)
    _, token = api_tokens.create_token(owner.id, "cli")
    found = api_of(token).document(str(project.id))
    assert found == export_project(project.id, with_ids=True)
    assert list(found) == list(export_project(project.id, with_ids=True))
    assert list(found)[:2] == ["id", "name"]


def test_a_refused_plan_lists_every_problem_with_its_path(api_of, db):
    owner = factories.user()
    project = sample_project(owner)
    _, token = api_tokens.create_token(owner.id, "cli")
    document = export_project(project.id)
    document["workflows"]["patient-sync"]["jobs"]["load"]["adaptor"] = "nosuch@1"
    document["settings"]["egress_allowlist"] = ["10.0.0.5:8080", "not a host!"]
    with pytest.raises(Refused) as raised:
        api_of(token).plan(str(project.id), document)
    assert "refused the document (2 problems); nothing was changed" in raised.value.message
    assert sorted(p["path"] for p in raised.value.problems) == [
        "settings.egress_allowlist.1",
        "workflows.patient-sync.jobs.load.adaptor",
    ]
    assert api_of(token).plan(str(project.id), export_project(project.id)) == []


def test_a_job_file_that_is_not_python_is_warned_about_at_its_line(pulled):
    directory, _ = pulled
    (directory / "jobs/patient-sync/load.py").write_text("log('ok')\nget(\n")
    assert syntax_warnings(files.read_project(directory)) == [
        "jobs/patient-sync/load.py:2: '(' was never closed: this job would crash when it runs."
    ]


def test_changes_read_with_the_directory_s_workflow_keys(pulled):
    _, plain = pulled
    local = json.loads(json.dumps(plain))
    local["workflows"]["sync"] = local["workflows"].pop("patient-sync")
    local["workflows"]["sync"]["jobs"]["fetch"]["body"] = "log('b')\n"
    changes = [{"path": "workflows.patient-sync.jobs.fetch.body", "kind": "changed"}]
    lines = change_lines(changes, plain, local, {"patient-sync": "sync"})
    assert lines[0] == "  ~ workflows.sync.jobs.fetch.body"
    assert lines[-1] == "      +log('b')"
