"""`ferry pull`, `ferry diff` and `ferry deploy` as a developer runs them: the `ferry` command
in its own process, against the engine stack's real web server on loopback, with a real API
token. A deploy of one edited job file changes exactly that job on the server."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from app.extensions import db
from app.models import Role
from app.services import api_tokens
from app.services.project_code.document import export_project, split_bodies, to_yaml
from app.services.workflows import store
from tests import factories
from tests.services.project_code.sample_project import sample_project
from tests.support import free_port

FERRY = str(Path(sys.executable).parent / "ferry")
EXTRA = """  extra:
    name: Nightly extra
    triggers:
      webhook:
        type: webhook
    jobs:
      only:
        name: Only step
        adaptor: common@1
        body:
          path: jobs/extra/only.py
    edges:
      webhook->only:
        source_trigger: webhook
        target_job: only
"""
NEW_FETCH = 'get("https://example.org/api/patients", query={"since": "2026-01-01"})\n'


def ferry(*args: str, env: dict) -> subprocess.CompletedProcess:
    """Run `ferry ARGS` with no terminal attached, as a script or a CI job would."""
    return subprocess.run(
        [FERRY, *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def world(stack, tmp_path):
    """A sample project on the server, its owner's and a viewer's tokens, and an environment
    for `ferry` pointing at the server with the owner's token (no config file)."""
    with stack.app.app_context():
        owner = factories.user(email=f"cli-{uuid.uuid4().hex[:8]}@example.org")
        project = sample_project(owner, f"Clinic sync {uuid.uuid4().hex[:6]}")
        viewer = factories.user(email=f"cli-viewer-{uuid.uuid4().hex[:8]}@example.org")
        factories.member(project, viewer, Role.VIEWER)
        _, token = api_tokens.create_token(owner.id, "cli")
        _, viewer_token = api_tokens.create_token(viewer.id, "cli")
        found = {"project_id": project.id, "name": project.name, "viewer_token": viewer_token}
        db.session.remove()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FERRY_")}
    env |= {"HOME": str(tmp_path / "home"), "FERRY_ENDPOINT": stack.base_url}
    env["FERRY_API_TOKEN"] = token
    return found | {"env": env, "dir": tmp_path / "clinic"}


def exported(stack, project_id) -> dict:
    with stack.app.app_context():
        document = export_project(project_id)
        db.session.remove()
    return document


def test_pull_edit_one_job_deploy_changes_exactly_that_job(stack, world):
    env, directory, project_id = world["env"], world["dir"], world["project_id"]
    pulled = ferry("pull", str(project_id), str(directory), env=env)
    assert pulled.returncode == 0, pulled.stderr
    assert "2 workflows, 4 job files" in pulled.stdout
    before = exported(stack, project_id)
    job_file = directory / "jobs/patient-sync/fetch.py"
    assert job_file.read_text() == before["workflows"]["patient-sync"]["jobs"]["fetch"]["body"]
    # project.yaml is the server's plain export, in its order, with bodies split out.
    split, bodies = split_bodies(before)
    assert (directory / "project.yaml").read_text() == to_yaml(split)
    assert (directory / "project.yaml").read_text().startswith(f"name: {world['name']}\n")
    for name, text in bodies.items():
        assert (directory / name).read_text() == text

    same = ferry("diff", str(directory), env=env)
    assert (same.returncode, same.stdout.split(":")[0]) == (0, "No differences"), same.stderr

    job_file.write_text(NEW_FETCH)
    differs = ferry("diff", str(directory), env=env)
    assert differs.returncode == 1, differs.stderr
    assert "~ workflows.patient-sync.jobs.fetch.body" in differs.stdout
    assert '+get("https://example.org/api/patients", query={"since": "2026-01-01"})' in (
        differs.stdout
    )

    # No terminal to ask and no --yes: nothing is applied.
    unasked = ferry("deploy", str(directory), env=env)
    assert unasked.returncode == 2
    assert "Pass --yes" in unasked.stderr
    assert exported(stack, project_id) == before

    deployed = ferry("deploy", str(directory), "--yes", env=env)
    assert deployed.returncode == 0, deployed.stderr
    assert "Deployed 1 change" in deployed.stdout
    expected = copy.deepcopy(before)
    expected["workflows"]["patient-sync"]["jobs"]["fetch"]["body"] = NEW_FETCH
    assert exported(stack, project_id) == expected

    again = ferry("diff", str(directory), env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    # The state follows the deploy: a new pull sees nothing to protect and nothing new.
    state = json.loads((directory / ".ferry/state.json").read_text())
    assert state["workflows"]["patient-sync"]["lock_version"] == 2
    repulled = ferry("pull", str(project_id), str(directory), env=env)
    assert repulled.returncode == 0, repulled.stderr
    assert job_file.read_text() == NEW_FETCH


def test_a_renamed_workflow_keeps_its_id_and_a_removed_one_is_deleted(stack, world):
    env, directory, project_id = world["env"], world["dir"], world["project_id"]
    assert ferry("pull", world["name"], str(directory), env=env).returncode == 0
    ids = json.loads((directory / ".ferry/state.json").read_text())["workflows"]
    text = (directory / "project.yaml").read_text()
    text = text.replace("name: Case intake", "name: Case intake v2")
    start = text.index("  patient-sync:\n")
    (directory / "project.yaml").write_text(text[:start])  # patient-sync is the last entry
    plan = ferry("diff", str(directory), env=env)
    assert plan.returncode == 1
    assert "~ workflows.case-intake.name" in plan.stdout
    assert "- workflows.patient-sync" in plan.stdout

    deployed = ferry("deploy", str(directory), "-y", env=env)
    assert deployed.returncode == 0, deployed.stderr
    with stack.app.app_context():
        left = {str(w.id): w.name for w in store.list_workflows(project_id)}
        db.session.remove()
    assert left == {ids["case-intake"]["id"]: "Case intake v2"}
    assert ferry("diff", str(directory), env=env).returncode == 0


def test_a_new_workflow_under_a_key_of_one_s_own_is_created_once(stack, world):
    env, directory, project_id = world["env"], world["dir"], world["project_id"]
    assert ferry("pull", str(project_id), str(directory), env=env).returncode == 0
    with (directory / "project.yaml").open("a") as project_yaml:
        project_yaml.write(EXTRA)
    (directory / "jobs/extra").mkdir()
    (directory / "jobs/extra/only.py").write_text("log('extra')\n")
    deployed = ferry("deploy", str(directory), "--yes", env=env)
    assert deployed.returncode == 0, deployed.stderr
    assert "+ workflows.extra" in deployed.stdout
    # The state now knows the new workflow under the directory's key: nothing left to do.
    state = json.loads((directory / ".ferry/state.json").read_text())
    assert set(state["workflows"]) == {"case-intake", "patient-sync", "extra"}
    assert ferry("diff", str(directory), env=env).returncode == 0
    again = ferry("deploy", str(directory), "--yes", env=env)
    assert "Nothing to deploy" in again.stdout
    with stack.app.app_context():
        names = sorted(w.name for w in store.list_workflows(project_id))
        db.session.remove()
    assert names == ["Case intake", "Nightly extra", "Patient sync"]


def at_terminal(*args: str, env: dict, answer: str) -> subprocess.CompletedProcess:
    """Run `ferry ARGS` with a terminal as its standard input, typing `answer` into it."""
    controller, terminal = os.openpty()
    try:
        process = subprocess.Popen(
            [FERRY, *args],
            env=env,
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.write(controller, answer.encode())
        out, err = process.communicate(timeout=120)
    finally:
        os.close(controller)
        os.close(terminal)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def test_deploy_at_a_terminal_asks_first(stack, world):
    env, directory, project_id = world["env"], world["dir"], world["project_id"]
    assert ferry("pull", str(project_id), str(directory), env=env).returncode == 0
    before = exported(stack, project_id)
    (directory / "jobs/patient-sync/fetch.py").write_text(NEW_FETCH)
    question = f"Apply this 1 change to {world['name']} on {stack.base_url}? [y/N]"

    declined = at_terminal("deploy", str(directory), env=env, answer="n\n")
    assert declined.returncode == 1
    assert question in declined.stdout
    assert "Nothing was deployed." in declined.stderr
    assert exported(stack, project_id) == before

    accepted = at_terminal("deploy", str(directory), env=env, answer="y\n")
    assert accepted.returncode == 0, accepted.stderr
    assert "Deployed 1 change" in accepted.stdout
    jobs = exported(stack, project_id)["workflows"]["patient-sync"]["jobs"]
    assert jobs["fetch"]["body"] == NEW_FETCH


def test_a_refused_document_names_each_problem_at_its_line_and_changes_nothing(stack, world):
    env, directory, project_id = world["env"], world["dir"], world["project_id"]
    assert ferry("pull", str(project_id), str(directory), env=env).returncode == 0
    before = exported(stack, project_id)
    text = (directory / "project.yaml").read_text()
    text = text.replace("adaptor: dhis2@1", "adaptor: nosuch@1").replace(
        "- dhis2.lan", "- 'not a host!'"
    )
    (directory / "project.yaml").write_text(text)
    (directory / "jobs/case-intake/receive.py").write_text("log('changed too')\n")
    lines = text.splitlines()

    refused = ferry("deploy", str(directory), "--yes", env=env)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    adaptor = lines.index("        adaptor: nosuch@1") + 1
    allowlist = lines.index("  - 'not a host!'") + 1
    assert f"project.yaml:{adaptor}: workflows.patient-sync.jobs.load.adaptor:" in refused.stderr
    assert f"project.yaml:{allowlist}: settings.egress_allowlist.1:" in refused.stderr
    assert exported(stack, project_id) == before
    assert ferry("diff", str(directory), env=env).returncode == 2


def test_a_workflow_saved_on_the_server_since_the_pull_is_not_overwritten(stack, world):
    env, directory, project_id = world["env"], world["dir"], world["project_id"]
    assert ferry("pull", str(project_id), str(directory), env=env).returncode == 0
    state = json.loads((directory / ".ferry/state.json").read_text())
    with stack.app.app_context():
        workflow_id = uuid.UUID(state["workflows"]["patient-sync"]["id"])
        document = exported(stack, project_id)["workflows"]["patient-sync"]
        document["jobs"]["load"]["body"] = "log('their change')\n"
        store.replace_workflow(workflow_id, document)
        db.session.remove()
    (directory / "jobs/patient-sync/fetch.py").write_text(NEW_FETCH)

    refused = ferry("deploy", str(directory), "--yes", env=env)
    assert refused.returncode == 1
    assert "workflows.patient-sync.lock_version" in refused.stderr
    assert "--force" in refused.stderr
    theirs = exported(stack, project_id)["workflows"]["patient-sync"]["jobs"]
    assert theirs["load"]["body"] == "log('their change')\n"

    forced = ferry("deploy", str(directory), "--yes", "--force", env=env)
    assert forced.returncode == 0, forced.stderr
    assert "was changed on the server since" in forced.stderr
    jobs = exported(stack, project_id)["workflows"]["patient-sync"]["jobs"]
    assert jobs["fetch"]["body"] == NEW_FETCH
    assert jobs["load"]["body"] != "log('their change')\n"


def test_tokens_roles_and_a_server_that_is_down(stack, world, tmp_path):
    env, directory, project_id = world["env"], world["dir"], world["project_id"]
    bad = ferry("pull", str(project_id), str(directory), env={**env, "FERRY_API_TOKEN": "fry_x"})
    assert bad.returncode == 1
    assert "refused the API token from FERRY_API_TOKEN (401)" in bad.stderr
    assert not directory.exists()

    as_viewer = {**env, "FERRY_API_TOKEN": world["viewer_token"]}
    assert ferry("pull", str(project_id), str(directory), env=as_viewer).returncode == 0
    (directory / "jobs/patient-sync/fetch.py").write_text(NEW_FETCH)
    forbidden = ferry("deploy", str(directory), "--yes", env=as_viewer)
    assert forbidden.returncode == 1
    assert "(403)" in forbidden.stderr and "admin or owner" in forbidden.stderr

    missing = ferry("pull", str(uuid.uuid4()), str(tmp_path / "other"), env=env)
    assert missing.returncode == 1
    assert "is not on" in missing.stderr

    down = f"http://127.0.0.1:{free_port()}"
    unreachable = ferry("diff", str(directory), "--endpoint", down, env=env)
    assert unreachable.returncode == 2  # pulled from another server: refused before any call
    assert "was pulled from" in unreachable.stderr
    gone = ferry("pull", str(project_id), str(tmp_path / "third"), "--endpoint", down, env=env)
    assert gone.returncode == 3
    assert "Cannot reach Ferry" in gone.stderr
