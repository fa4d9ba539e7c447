"""One sync between a project and its git remote, run by a background job (never inside a
request): after a save, on "Pull from git", and when someone resolves a conflict.

Every sync does the same thing, in a fresh temporary clone of the branch:
1. Ferry's document now (`export_project`, bodies inline) is "ours"; the project.yaml and job
   files at the branch's head are "theirs"; the document both last agreed on
   (`synced_document`, at `synced_commit`) is the base.
2. If git did not move since the base, ours is committed (when it differs) and pushed.
   If it moved, the three are merged (`merge.merge`): what only git changed is applied to the
   project (`apply_project`, atomic), what only Ferry changed is kept, and the result is
   committed on top of git's head and pushed: a fast-forward, never a force-push.
3. Where both changed the same entry differently, nothing is applied and nothing pushed: the
   status is `conflict` and both values are kept on the row until a person chooses
   "Keep Ferry's" (Ferry's document committed on top of git's, git's version stays in its
   history) or "Take git's" (git's document applied).
A push refused because someone pushed meanwhile starts the sync over once.

Syncs of one project never overlap (a Redis lock per project). The conflict is kept as JSON
in `last_error` (the row has no column of its own for it; status `conflict` says how to
read it).
"""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from redis.exceptions import RedisError

from app.extensions import db, redis_client
from app.models import User, Workflow, WorkflowSnapshot
from app.models.git_remotes import ProjectGitRemote
from app.services import parsing
from app.services.encryption import DecryptionFailed
from app.services.errors import Invalid, ServiceError
from app.services.git_sync import commands, remotes
from app.services.git_sync.merge import Clash, merge
from app.services.git_sync.queueing import KEEP_OURS, MODES, PULL, SYNC, TAKE_THEIRS

log = logging.getLogger("ferry.git_sync")

DOCUMENT = "project.yaml"
JOBS_DIR = "jobs"
LOCK_S = 300
MAX_DOCUMENT_BYTES = 5_000_000


@dataclass(frozen=True)
class Conflict:
    """A conflict waiting for a person: git's head then, and each clashing entry."""

    commit: str
    clashes: list[Clash]


def conflict_of(remote: ProjectGitRemote) -> Conflict | None:
    """The conflict stored on the row, when its status is `conflict`."""
    if remote.status != "conflict" or not remote.last_error:
        return None
    try:
        stored = json.loads(remote.last_error)
        clashes = [Clash(c["path"], c.get("ours"), c.get("theirs")) for c in stored["clashes"]]
        return Conflict(str(stored["commit"]), clashes)
    except (ValueError, KeyError, TypeError):
        return None


def run(
    project_id: uuid.UUID,
    actor_id: uuid.UUID | None = None,
    mode: str = SYNC,
    *,
    workflow_id: uuid.UUID | None = None,
    version: int | None = None,
) -> str:
    """Sync the project with its remote (see the module docstring); returns the status."""
    if mode not in MODES:
        raise Invalid("mode", f"Choose one of {', '.join(MODES)}.")
    with _locked(project_id):
        remote = db.session.get(ProjectGitRemote, project_id)
        if remote is None:
            return "never"
        if mode == SYNC and remote.status == "conflict":
            return "conflict"  # waits for a person; a later save must not bury it
        actor = db.session.get(User, actor_id) if actor_id else None
        message = _message(actor, workflow_id, version, mode)
        try:
            for attempt in (1, 2):
                try:
                    return _sync(remote, actor, message, mode)
                except commands.GitError as error:
                    if not error.rejected or attempt == 2:
                        raise
                    db.session.rollback()
                    remote = db.session.get(ProjectGitRemote, project_id)
        except (commands.GitError, ServiceError, DecryptionFailed) as error:
            return _failed(project_id, _failure(error))
        except Exception:
            # Never left "pending" for ever; the details go to the worker's log only.
            log.exception("git sync of project %s failed", project_id)
            return _failed(project_id, "Ferry could not finish the sync; see the worker's log.")
    return "failed"


def _failed(project_id: uuid.UUID, message: str) -> str:
    db.session.rollback()
    remote = db.session.get(ProjectGitRemote, project_id)
    if remote is None:
        return "never"
    remotes.mark(remote, "failed", message)
    db.session.commit()
    return "failed"


def _sync(remote: ProjectGitRemote, actor: User | None, message: str, mode: str) -> str:
    from app.services.project_code.document import export_project

    target = remotes.target_of(remote)
    with commands.Workspace(target) as workspace:
        head = commands.checkout(workspace)
        theirs = _read_document(workspace) if head else None
        ours = export_project(remote.project_id)
        words = f"From git {head[:8]}: {commands.subject(workspace)}" if head else ""
        if mode == TAKE_THEIRS and theirs is not None:
            ours = _apply(remote.project_id, ours, theirs, actor, f"Took git's version. {words}")
        elif mode in (SYNC, PULL) and theirs is not None and head != remote.synced_commit:
            merged = merge(remote.synced_document, ours, theirs)
            if merged.clashes:
                stored = {"commit": head, "clashes": [c.as_dict() for c in merged.clashes]}
                remotes.mark(remote, "conflict", json.dumps(stored))
                db.session.commit()
                return "conflict"
            if merged.document != ours:
                ours = _apply(remote.project_id, ours, merged.document, actor, words)
        commit = _write(workspace, ours, actor, message) or head
        if commit != head:
            commands.push(workspace)
    remote.synced_commit, remote.synced_document = commit, ours
    remotes.mark(remote, "ok")
    db.session.commit()
    return "ok"


def _apply(
    project_id: uuid.UUID, ours: dict, wanted: dict, actor: User | None, message: str
) -> dict:
    """Make the project equal `wanted` (workflows it lacks are deleted), each changed
    workflow's new version saying where it came from; Ferry's document after that is
    returned, which is what gets committed. A workflow is the same one when its key is (its
    file's identity in git), so a name changed in git renames it instead of adding one."""
    from app.services.project_code.document import export_project
    from app.services.project_code.importing import apply_project

    ids = {
        key: entry["id"]
        for key, entry in (export_project(project_id, with_ids=True).get("workflows") or {}).items()
    }
    document = dict(wanted)
    workflows = {}
    for key, entry in (document.get("workflows") or {}).items():
        same = isinstance(entry, dict) and key in ids and "id" not in entry
        workflows[key] = {"id": ids[key], **entry} if same else entry
    for key in ours.get("workflows") or {}:
        if key not in workflows and key in ids:
            workflows[key] = {"id": ids[key], "delete": True}
    document["workflows"] = workflows
    apply_project(document, actor, project_id=project_id, message=message[:500])
    return export_project(project_id)


def _read_document(workspace: commands.Workspace) -> dict | None:
    """Git's project.yaml with its job files inlined; None when the branch has none yet.
    A document Ferry cannot read is an Invalid naming the file and the problems."""
    from app.services.project_code.document import directory_reader, inline_bodies

    path = workspace.repo / DOCUMENT
    if path.is_symlink():
        # A link could point at any file on the server; its text would end up in messages.
        raise Invalid("project.yaml", "project.yaml in git is a symbolic link; commit the file.")
    if not path.is_file():
        return None
    if path.stat().st_size > MAX_DOCUMENT_BYTES:
        raise Invalid(
            "project.yaml", f"project.yaml in git is larger than {MAX_DOCUMENT_BYTES:,} bytes."
        )
    text = path.read_text(encoding="utf-8", errors="replace")
    document = parsing.load_yaml(text, field="project.yaml", what="project.yaml in git")
    if not isinstance(document, dict):
        raise Invalid("project.yaml", "project.yaml in git is not a mapping of project keys.")
    return inline_bodies(document, directory_reader(workspace.repo))


def _write(
    workspace: commands.Workspace, document: dict, actor: User | None, message: str
) -> str | None:
    """Write project.yaml and jobs/ afresh (jobs/ is Ferry's: what is not a job body of the
    project goes) and commit them."""
    from app.services.project_code.document import split_bodies, to_yaml

    with_paths, files = split_bodies(document)
    repo: Path = workspace.repo
    jobs = repo / JOBS_DIR
    # Links are removed, never followed: a repository whose jobs/ or project.yaml links
    # elsewhere must not make Ferry write or delete files outside the clone.
    if jobs.is_symlink() or jobs.is_file():
        jobs.unlink()
    elif jobs.is_dir():
        shutil.rmtree(jobs)
    if (repo / DOCUMENT).is_symlink():
        (repo / DOCUMENT).unlink()
    for relative, text in files.items():
        target = repo / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    (repo / DOCUMENT).write_text(to_yaml(with_paths), encoding="utf-8")
    paths = [DOCUMENT] + ([JOBS_DIR] if jobs.exists() else [])
    author = (
        commands.author_line(actor.name or "", actor.email)
        if actor
        else commands.author_line(*commands.COMMITTER)
    )
    return commands.commit_all(workspace, paths, author, message)


def _message(
    actor: User | None, workflow_id: uuid.UUID | None, version: int | None, mode: str
) -> str:
    """The commit message: the version's own words, else what happened."""
    if mode == KEEP_OURS:
        return "Keep Ferry's version after a conflict with git"
    if mode == TAKE_THEIRS:
        return "Take git's version after a conflict"
    if workflow_id is None:
        return "Sync from Ferry"
    if version is None:
        workflow = db.session.get(Workflow, workflow_id)
        name = workflow.name.split(" (deleted ")[0] if workflow else "a workflow"
        return f"Delete {name}"
    snapshot = db.session.scalar(
        db.select(WorkflowSnapshot).where(
            WorkflowSnapshot.workflow_id == workflow_id, WorkflowSnapshot.lock_version == version
        )
    )
    if snapshot is None:
        return f"Save version {version}"
    if snapshot.message:
        return snapshot.message
    name = (snapshot.definition or {}).get("name") or "workflow"
    return f"Save {name} version {version}"


def _failure(error: Exception) -> str:
    """What to tell people about a failed sync (git's words are already scrubbed)."""
    problems = getattr(error, "problems", None)
    if problems:
        listed = "; ".join(f"{p.path}: {p.message}" for p in problems[:20])
        return f"The project.yaml in git has problems, nothing was applied: {listed}"
    return getattr(error, "message", None) or str(error)


@contextmanager
def _locked(project_id: uuid.UUID):
    """Hold the project's sync lock (waits for a running sync to end)."""
    lock = redis_client().lock(
        f"ferry:git-sync:{project_id}", timeout=LOCK_S, blocking_timeout=LOCK_S
    )
    if not lock.acquire():
        raise commands.GitError("Another sync of this project is still running; try again soon.")
    try:
        yield
    finally:
        # It may have expired: the next sync may already hold it.
        with suppress(RedisError):
            lock.release()
