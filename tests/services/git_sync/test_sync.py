"""Git sync against a local bare repository: a save becomes a commit by its author, a commit
pushed by someone else is pulled in, and a change both sides made to the same job is
reported with both versions kept, nothing applied, until a person chooses."""

from __future__ import annotations

import pytest
import yaml

from app.models import ProjectGitRemote, User, WorkflowSnapshot
from app.services.git_sync import remotes, sync
from app.services.git_sync.queueing import KEEP_OURS, PULL, SYNC, TAKE_THEIRS
from app.services.workflows import store
from tests import factories
from tests.services.git_sync.helpers import Clone, bare_repository, git, log

FLOW = """
name: Patient sync
triggers:
  webhook:
    type: webhook
    enabled: true
jobs:
  fetch:
    name: Fetch patients
    adaptor: common@1
    body: |
      {body}
edges:
  webhook->fetch:
    source_trigger: webhook
    target_job: fetch
    condition_type: always
"""
JOB_FILE = "jobs/patient-sync/fetch.py"


@pytest.fixture
def author(db):
    return factories.user(email="ann@example.org")


@pytest.fixture
def connected(author, tmp_path):
    """A project with one workflow, connected to an empty bare repository."""
    project = factories.project(author, "Clinic sync")
    workflow = store.create_workflow(project.id, FLOW.format(body="log('v1')"), author.id)
    bare = bare_repository(tmp_path)
    remotes.connect(author, project.id, str(bare), "main", "none", "")
    return project, workflow, bare


def _save(workflow, body: str, actor: User) -> int:
    saved = store.replace_workflow(workflow.id, FLOW.format(body=body), actor_id=actor.id)
    return saved.lock_version


def _body(workflow) -> str:
    return store.get_workflow(workflow.id).steps[0].body


def test_a_save_becomes_a_commit_by_its_author_with_the_job_in_its_own_file(
    connected, author, tmp_path
):
    project, workflow, bare = connected
    version = _save(workflow, "log('v2')", author)
    assert sync.run(project.id, author.id, SYNC, workflow_id=workflow.id, version=version) == "ok"
    assert log(bare)[0] == ["Test Person", "ann@example.org", "Save Patient sync version 2"]
    clone = Clone(bare, tmp_path)
    assert clone.read(JOB_FILE) == "log('v2')\n"
    job = clone.document()["workflows"]["patient-sync"]["jobs"]["fetch"]
    assert job["body"] == {"path": JOB_FILE}
    remote = remotes.get_remote(project.id)
    assert (
        remote.status == "ok"
        and remote.synced_commit == git("-C", str(bare), "rev-parse", "main").strip()
    )
    # Nothing new: no empty commit.
    assert sync.run(project.id, author.id, SYNC) == "ok"
    assert len(log(bare)) == 1


def test_the_version_message_is_the_commit_message(connected, author, db):
    project, workflow, bare = connected
    saved = store.replace_workflow(
        workflow.id, FLOW.format(body="log('v2')"), actor_id=author.id, message="Fix the query"
    )
    sync.run(project.id, author.id, SYNC, workflow_id=workflow.id, version=saved.lock_version)
    assert log(bare)[0][2] == "Fix the query"


def test_a_commit_pushed_by_someone_else_is_pulled_in(connected, author, tmp_path, db):
    project, workflow, bare = connected
    sync.run(project.id, author.id, SYNC)
    clone = Clone(bare, tmp_path)
    clone.write(JOB_FILE, "log('edited in git')\n")
    theirs = clone.push("Grace edits the fetch job")
    assert sync.run(project.id, None, PULL) == "ok"
    assert _body(workflow) == "log('edited in git')\n"
    version = db.session.scalar(
        db.select(WorkflowSnapshot)
        .where(WorkflowSnapshot.workflow_id == workflow.id)
        .order_by(WorkflowSnapshot.lock_version.desc())
    )
    assert version.message == f"From git {theirs[:8]}: Grace edits the fetch job"
    remote = remotes.get_remote(project.id)
    assert remote.synced_commit == theirs, "nothing new to push: git's commit is the base"
    assert log(bare)[0][:2] == ["Grace Git", "grace@example.org"]


def test_changes_to_different_parts_are_merged_and_pushed(connected, author, tmp_path):
    project, workflow, bare = connected
    sync.run(project.id, author.id, SYNC)
    clone = Clone(bare, tmp_path)
    document = clone.read("project.yaml").replace("description: ''", "description: Written in git")
    clone.write("project.yaml", document)
    clone.push("Describe the project")
    version = _save(workflow, "log('saved in Ferry')", author)
    assert sync.run(project.id, author.id, SYNC, workflow_id=workflow.id, version=version) == "ok"
    assert _body(workflow) == "log('saved in Ferry')\n"
    clone = Clone(bare, tmp_path / "again")
    assert clone.document()["description"] == "Written in git"
    assert clone.read(JOB_FILE) == "log('saved in Ferry')\n"
    assert [entry[2] for entry in log(bare)][:2] == [
        "Save Patient sync version 2",
        "Describe the project",
    ]


def test_both_sides_changing_the_same_job_is_a_conflict_and_nothing_is_lost(
    connected, author, tmp_path, db
):
    project, workflow, bare = connected
    sync.run(project.id, author.id, SYNC)
    clone = Clone(bare, tmp_path)
    clone.write(JOB_FILE, "log('git side')\n")
    theirs = clone.push("Grace's version")
    _save(workflow, "log('ferry side')", author)
    assert sync.run(project.id, author.id, SYNC) == "conflict"
    assert _body(workflow) == "log('ferry side')\n", "nothing applied"
    assert git("-C", str(bare), "rev-parse", "main").strip() == theirs, "nothing pushed"
    remote = remotes.get_remote(project.id)
    conflict = sync.conflict_of(remote)
    assert conflict.commit == theirs
    (clash,) = conflict.clashes
    assert clash.path == "workflows.patient-sync.jobs.fetch.body"
    assert (clash.ours, clash.theirs) == ("log('ferry side')\n", "log('git side')\n")
    assert "+log('git side')" in clash.line_diff()
    # Later saves wait for a person: the conflict is not buried.
    _save(workflow, "log('ferry side, again')", author)
    assert sync.run(project.id, author.id, SYNC) == "conflict"
    assert git("-C", str(bare), "rev-parse", "main").strip() == theirs


def test_keep_ferrys_commits_on_top_and_git_keeps_the_other_version(connected, author, tmp_path):
    project, workflow, bare = connected
    sync.run(project.id, author.id, SYNC)
    clone = Clone(bare, tmp_path)
    clone.write(JOB_FILE, "log('git side')\n")
    theirs = clone.push("Grace's version")
    _save(workflow, "log('ferry side')", author)
    sync.run(project.id, author.id, SYNC)
    assert sync.run(project.id, author.id, KEEP_OURS) == "ok"
    assert _body(workflow) == "log('ferry side')\n"
    assert Clone(bare, tmp_path / "after").read(JOB_FILE) == "log('ferry side')\n"
    assert git("-C", str(bare), "show", f"{theirs}:{JOB_FILE}") == "log('git side')\n"
    assert remotes.get_remote(project.id).status == "ok"


def test_take_gits_applies_git_s_version(connected, author, tmp_path):
    project, workflow, bare = connected
    sync.run(project.id, author.id, SYNC)
    clone = Clone(bare, tmp_path)
    clone.write(JOB_FILE, "log('git side')\n")
    theirs = clone.push("Grace's version")
    _save(workflow, "log('ferry side')", author)
    sync.run(project.id, author.id, SYNC)
    assert sync.run(project.id, author.id, TAKE_THEIRS) == "ok"
    assert _body(workflow) == "log('git side')\n"
    assert git("-C", str(bare), "rev-parse", "main").strip() == theirs
    assert remotes.get_remote(project.id).synced_commit == theirs


def test_a_project_yaml_with_problems_fails_naming_them_and_applies_nothing(
    connected, author, tmp_path
):
    project, workflow, bare = connected
    sync.run(project.id, author.id, SYNC)
    clone = Clone(bare, tmp_path)
    clone.write(JOB_FILE, "log('fine')\n")
    text = clone.read("project.yaml").replace("adaptor: common@1", "adaptor: nosuch@9")
    clone.write("project.yaml", text)
    clone.push("A broken adaptor")
    assert sync.run(project.id, None, PULL) == "failed"
    remote = remotes.get_remote(project.id)
    assert "workflows.patient-sync.jobs.fetch.adaptor" in remote.last_error
    assert _body(workflow) == "log('v1')\n"


def test_a_job_file_path_escaping_the_repository_is_refused(connected, author, tmp_path):
    project, workflow, bare = connected
    sync.run(project.id, author.id, SYNC)
    clone = Clone(bare, tmp_path)
    text = clone.read("project.yaml").replace(JOB_FILE, "../../../../etc/passwd")
    clone.write("project.yaml", text)
    clone.push("Read a file outside")
    assert sync.run(project.id, None, PULL) == "failed"
    assert "workflows.patient-sync.jobs.fetch.body" in remotes.get_remote(project.id).last_error
    assert _body(workflow) == "log('v1')\n"


def test_a_remote_that_vanished_fails_with_git_s_words(connected, author, tmp_path, db):
    project = connected[0]
    remote = db.session.get(ProjectGitRemote, project.id)
    remote.url = str(tmp_path / "gone.git")
    db.session.commit()
    assert sync.run(project.id, author.id, SYNC) == "failed"
    assert "gone.git" in remotes.get_remote(project.id).last_error


def test_a_project_without_a_remote_does_nothing(author):
    project = factories.project(author, "Not connected")
    assert sync.run(project.id, author.id, SYNC) == "never"


@pytest.mark.parametrize("name", ["project.yaml", JOB_FILE])
def test_a_symbolic_link_to_a_server_file_is_refused_and_its_text_never_shown(
    connected, author, tmp_path, name
):
    project, workflow, bare = connected
    sync.run(project.id, author.id, SYNC)
    secret_file = tmp_path / "server-secret.txt"
    secret_file.write_text("name: TOP-SECRET-VALUE\n")
    clone = Clone(bare, tmp_path)
    (clone.path / name).unlink()
    (clone.path / name).symlink_to(secret_file)
    clone.push("Link to a file on the server")
    assert sync.run(project.id, None, PULL) == "failed"
    error = remotes.get_remote(project.id).last_error
    assert "TOP-SECRET-VALUE" not in error
    assert "symbolic link" in error or "outside" in error
    assert _body(workflow) == "log('v1')\n"


def test_a_jobs_folder_linking_outside_the_clone_is_replaced_never_written_through(
    connected, author, tmp_path
):
    project, workflow, bare = connected
    sync.run(project.id, author.id, SYNC)
    outside = tmp_path / "server-folder"
    (outside / "patient-sync").mkdir(parents=True)
    (outside / "keep.py").write_text("precious\n")
    clone = Clone(bare, tmp_path)
    document = clone.read("project.yaml").replace(
        f"body:\n          path: {JOB_FILE}", "body: |\n          log('v1')"
    )
    assert "body: |" in document, "the same body, written inline"
    clone.write("project.yaml", document)
    git("-C", str(clone.path), "rm", "-q", "-r", "jobs")
    (clone.path / "jobs").symlink_to(outside)
    clone.push("jobs/ is a link")
    _save(workflow, "log('ferry')", author)
    assert sync.run(project.id, author.id, SYNC) == "ok"
    assert sorted(p.name for p in outside.rglob("*")) == ["keep.py", "patient-sync"]
    assert (outside / "keep.py").read_text() == "precious\n"
    assert Clone(bare, tmp_path / "after").read(JOB_FILE) == "log('ferry')\n"


def test_a_project_document_applied_through_the_api_queues_a_sync(connected, author, app):
    from redis import Redis
    from rq import Queue

    from app.services.project_code.document import export_project
    from app.services.project_code.importing import apply_project

    project, _workflow, _bare = connected
    queued = Queue("default", connection=Redis.from_url(app.config["REDIS_URL"]))
    before = set(queued.job_ids)
    document = export_project(project.id)
    document["workflows"]["patient-sync"]["jobs"]["fetch"]["body"] = "log('from the API')\n"
    apply_project(document, author, project_id=project.id)
    jobs = [queued.fetch_job(i) for i in set(queued.job_ids) - before]
    assert [job.args[:3] for job in jobs] == [(str(project.id), str(author.id), SYNC)]
    for job in jobs:
        job.delete()


def test_a_workflow_renamed_in_git_is_renamed_not_duplicated(connected, author, tmp_path):
    project, workflow, bare = connected
    sync.run(project.id, author.id, SYNC)
    clone = Clone(bare, tmp_path)
    clone.write(
        "project.yaml",
        clone.read("project.yaml").replace("name: Patient sync", "name: Patient sync (v2)"),
    )
    clone.push("Rename the workflow")
    assert sync.run(project.id, None, PULL) == "ok"
    names = [w.name for w in store.list_workflows(project.id)]
    assert names == ["Patient sync (v2)"]
    assert store.get_workflow(workflow.id).name == "Patient sync (v2)"


def test_a_workflow_deleted_in_git_is_deleted(connected, author, tmp_path):
    project, _workflow, bare = connected
    store.create_workflow(project.id, FLOW.replace("Patient sync", "Second").format(body="x"))
    sync.run(project.id, author.id, SYNC)
    clone = Clone(bare, tmp_path)
    document = clone.document()
    del document["workflows"]["second"]
    clone.write("project.yaml", yaml.safe_dump(document, sort_keys=False))
    git("-C", str(clone.path), "rm", "-q", "-r", "jobs/second")
    clone.push("Remove the second workflow")
    assert sync.run(project.id, None, PULL) == "ok"
    assert [w.name for w in store.list_workflows(project.id)] == ["Patient sync"]
