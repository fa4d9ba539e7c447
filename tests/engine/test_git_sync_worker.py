"""Git sync through a real RQ worker: a workflow save queues the job (ids only, after the
commit), a worker process commits and pushes it to a local bare repository with the saver
as author, and two workers taking two saves of one project at once leave the repository
with the last save (the per-project lock keeps the syncs apart)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import create_app
from app.config import Settings
from app.extensions import db
from app.models import ProjectGitRemote
from app.services import accounts, projects
from app.services.git_sync import remotes
from app.services.workflows import store
from tests.engine.conftest import LOGS, RedisServer
from tests.services.git_sync.helpers import PATIENT_SYNC
from tests.support import database_url, recreate_database, worker_index


@pytest.fixture(scope="module")
def world():
    """Its own database and Redis server, so the workers take only these jobs."""
    url = database_url("gitsync")
    recreate_database(url)
    redis = RedisServer()
    redis.start()
    settings = Settings(env="test", database_url=url, redis_url=redis.url)
    app = create_app(settings)
    from workers.cli import upgrade_database

    upgrade_database(app)
    try:
        yield app, settings
    finally:
        redis.stop()
        with app.app_context():
            db.engine.dispose()


def _workers(settings: Settings, count: int) -> None:
    """Start `count` burst workers and wait until they have emptied the queues."""
    LOGS.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "FERRY_ENV": "test",
    }
    processes = []
    for number in range(count):
        log = open(LOGS / f"git-worker{number}-{worker_index()}.log", "a")  # noqa: SIM115
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "workers", "worker", "--burst"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    for process in processes:
        assert process.wait(timeout=180) == 0


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True, check=True)
    return done.stdout


def test_a_save_is_committed_and_pushed_by_a_worker(world, tmp_path: Path):
    app, settings = world
    bare = tmp_path / "remote.git"
    _git("init", "-q", "--bare", "-b", "main", str(bare))
    with app.app_context():
        saver = accounts.create_user(
            "worker-saver@example.org", "correct horse battery staple", name="Wanda Worker"
        )
        project = projects.create_project(saver, "Worker sync")
        workflow = store.create_workflow(
            project.id, PATIENT_SYNC.format(body="log('v1')"), saver.id
        )
        remotes.connect(saver, project.id, str(bare), "main", "none", "")
        store.replace_workflow(
            workflow.id, PATIENT_SYNC.format(body="log('v2')"), actor_id=saver.id
        )
        project_id = project.id
        db.session.remove()
    _workers(settings, 1)
    log = _git("-C", str(bare), "log", "--format=%an%n%ae%n%s", "main").splitlines()
    assert log[:3] == ["Wanda Worker", "worker-saver@example.org", "Save Patient sync version 2"]
    assert _git("-C", str(bare), "show", "main:jobs/patient-sync/fetch.py") == "log('v2')\n"
    with app.app_context():
        remote = db.session.get(ProjectGitRemote, project_id)
        assert (
            remote.status == "ok"
            and remote.synced_commit == _git("-C", str(bare), "rev-parse", "main").strip()
        )
        db.session.remove()


def test_two_workers_syncing_one_project_leave_the_last_save(world, tmp_path: Path):
    app, settings = world
    bare = tmp_path / "remote.git"
    _git("init", "-q", "--bare", "-b", "main", str(bare))
    with app.app_context():
        saver = accounts.create_user("two-workers@example.org", "correct horse battery staple")
        project = projects.create_project(saver, "Two workers")
        workflow = store.create_workflow(
            project.id, PATIENT_SYNC.format(body="log('v1')"), saver.id
        )
        remotes.connect(saver, project.id, str(bare), "main", "none", "")
        for body in ("log('v2')", "log('v3')"):
            store.replace_workflow(workflow.id, PATIENT_SYNC.format(body=body), actor_id=saver.id)
        project_id = project.id
        db.session.remove()
    _workers(settings, 2)
    assert _git("-C", str(bare), "show", "main:jobs/patient-sync/fetch.py") == "log('v3')\n"
    with app.app_context():
        assert db.session.get(ProjectGitRemote, project_id).status == "ok"
        db.session.remove()
