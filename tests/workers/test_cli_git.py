"""`ferry pull --from-git PROJECT_ID` on the server: someone's push is brought in, a conflict
is printed with its paths and exit code 1, and bad input exits 2 with one clear line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import create_app
from app.config import Settings
from app.extensions import db
from app.services import accounts, projects
from app.services.git_sync import remotes, sync
from app.services.git_sync.queueing import SYNC
from app.services.workflows import store
from tests.services.git_sync.helpers import JOB_FILE, PATIENT_SYNC, Clone, bare_repository
from tests.support import database_url, recreate_database, redis_url


@pytest.fixture(scope="module")
def server():
    """A database of its own whose rows are committed, as the command sees them."""
    settings = Settings(env="test", database_url=database_url("gitcli"), redis_url=redis_url())
    recreate_database(settings.database_url)
    app = create_app(settings)
    from workers.cli import upgrade_database

    upgrade_database(app)
    yield app, settings
    with app.app_context():
        db.engine.dispose()


def ferry(settings: Settings, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "FERRY_ENV": "test",
    }
    return subprocess.run(
        [sys.executable, "-m", "workers", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _connected(app, tmp_path: Path, email: str):
    bare = bare_repository(tmp_path)
    with app.app_context():
        person = accounts.create_user(email, "correct horse battery staple")
        project = projects.create_project(person, f"CLI {email}")
        workflow = store.create_workflow(
            project.id, PATIENT_SYNC.format(body="log('v1')"), person.id
        )
        remotes.connect(person, project.id, str(bare), "main", "none", "")
        assert sync.run(project.id, person.id, SYNC) == "ok"
        ids = (project.id, workflow.id, person.id)
        db.session.remove()
    return bare, ids


def test_pull_from_git_brings_in_someone_s_push(server, tmp_path):
    app, settings = server
    bare, (project_id, workflow_id, _) = _connected(app, tmp_path, "cli-pull@example.org")
    clone = Clone(bare, tmp_path)
    clone.write(JOB_FILE, "log('from git')\n")
    commit = clone.push("Edit in git")
    done = ferry(settings, "pull", "--from-git", str(project_id))
    assert done.returncode == 0, done.stderr
    assert commit in done.stdout
    with app.app_context():
        assert store.get_workflow(workflow_id).steps[0].body == "log('from git')\n"
        db.session.remove()


def test_a_conflict_is_printed_with_its_paths_and_exit_code_1(server, tmp_path):
    app, settings = server
    bare, (project_id, workflow_id, person_id) = _connected(app, tmp_path, "cli-c@example.org")
    clone = Clone(bare, tmp_path)
    clone.write(JOB_FILE, "log('git side')\n")
    clone.push("Git side")
    with app.app_context():
        store.replace_workflow(
            workflow_id, PATIENT_SYNC.format(body="log('ferry')"), actor_id=person_id
        )
        db.session.remove()
    done = ferry(settings, "pull", "--from-git", str(project_id))
    assert done.returncode == 1
    assert "workflows.patient-sync.jobs.fetch.body" in done.stderr
    assert "Keep Ferry's or Take git's" in done.stderr


@pytest.mark.parametrize(
    ("argument", "words"),
    [
        ("not-an-id", "is not a project id"),
        # A fixed id: parallel test workers must collect the same tests.
        ("0b0e5a1c-0000-4000-8000-00000000f00d", "is not connected to git"),
    ],
)
def test_bad_input_exits_2_with_one_clear_line(server, argument, words):
    done = ferry(server[1], "pull", "--from-git", argument)
    assert done.returncode == 2
    assert words in done.stderr and "Traceback" not in done.stderr
