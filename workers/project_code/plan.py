"""What `ferry diff` and `ferry deploy` work out before anything changes: the directory's
document as it will be sent (the state's workflow ids and lock versions added, removed
workflows marked `delete: true`), the server's document, and the server's plan of changes;
and, after a deploy, the state file brought up to date."""

from __future__ import annotations

from pathlib import Path

import click

from workers.project_code import directory as files
from workers.project_code.client import Api, Refused
from workers.project_code.config import resolve
from workers.project_code.failure import REFUSED, Failure
from workers.project_code.report import change_lines, problem_lines, syntax_warnings


class Plan:
    """The directory, the server's project and the changes deploying would make."""

    def __init__(
        self, directory: Path, endpoint: str | None, token: str | None, *, locked: bool = False
    ) -> None:
        self.directory = directory
        self.locked = locked
        self.state = files.read_state(directory)
        if self.state is None:
            raise Failure(
                f"{directory} holds no pulled project (.ferry/state.json is missing): run "
                f"`ferry pull PROJECT {directory}` first."
            )
        self.connection = resolve(endpoint, token, pulled_from=self.state.endpoint)
        if self.connection.endpoint != self.state.endpoint:
            raise Failure(
                f"{directory} was pulled from {self.state.endpoint}, not "
                f"{self.connection.endpoint} (from {self.connection.endpoint_source}); ids "
                "differ between servers. Give --endpoint "
                f"{self.state.endpoint}, or pull into another directory."
            )
        self.project_id = self.state.project_id
        self.local = files.read_project(directory)
        for warning in syntax_warnings(self.local):
            click.echo(f"Warning: {warning}", err=True)
        self.api = Api(self.connection)
        self.server = self.api.document(self.project_id)
        self.title = f"{self.server.get('name')} on {self.connection.endpoint}"
        self.outgoing = self._outgoing()
        if not locked:
            self._warn_changed_on_server()
        try:
            self.changes = self.api.plan(self.project_id, self.outgoing)
        except Refused as refused:
            raise refusal(refused, self.local) from None

    def lines(self) -> list[str]:
        """The changes, with line diffs of changed bodies."""
        plain = files.strip_ids(self.server)
        return change_lines(self.changes, plain, self.local.document, self._keys())

    def _keys(self) -> dict[str, str]:
        """{server's workflow key: directory's key}: the same id, else (a workflow the
        deploy creates) the server's key is the slug of the directory's name for it."""
        from app.services.project_code.document import slug

        sent = self.outgoing.get("workflows")
        sent = (
            {k: v for k, v in sent.items() if isinstance(v, dict)} if isinstance(sent, dict) else {}
        )
        by_id = {entry.get("id"): key for key, entry in sent.items() if entry.get("id")}
        keys = {}
        for key, entry in (self.server.get("workflows") or {}).items():
            if entry.get("id") in by_id:
                keys[key] = by_id[entry["id"]]
        for key, entry in sent.items():
            name = entry.get("name")
            if not entry.get("id") and isinstance(name, str):
                keys.setdefault(slug(name), key)
        return keys

    def refresh(self, exported: dict) -> None:
        """After a deploy: the state file holds the server's ids and versions and the
        directory's files as they were deployed."""
        sent = self.outgoing.get("workflows")
        sent = sent if isinstance(sent, dict) else {}
        kept = {k: v for k, v in sent.items() if not (isinstance(v, dict) and v.get("delete"))}
        self.state.workflows = workflow_state(exported, kept)
        self.state.files = self.local.digests
        files.write_state(self.directory, self.state)

    def _outgoing(self) -> dict:
        """The local document with the ids the state knows (so a renamed workflow is still
        the same workflow), and `delete: true` for each known workflow gone from project.yaml.
        Ids the server no longer has are left out: the workflow is matched by name. When
        `locked`, each known workflow carries the lock version it was pulled at, so the
        server refuses to overwrite what someone saved since."""
        document = dict(self.local.document)
        local = document.get("workflows")
        if local is None:
            local = {}
        if not isinstance(local, dict):
            return document  # the server names the problem at `workflows`
        alive = {w.get("id") for w in (self.server.get("workflows") or {}).values()}
        known = {key: entry.get("id") for key, entry in self.state.workflows.items()}
        workflows = {}
        for key, entry in local.items():
            if isinstance(entry, dict) and "id" not in entry and known.get(key) in alive:
                entry = {"id": known[key], **entry}
                version = self.state.workflows[key].get("lock_version")
                if self.locked and isinstance(version, int) and "lock_version" not in entry:
                    entry["lock_version"] = version
            workflows[key] = entry
        for key, workflow_id in known.items():
            if key not in local and workflow_id in alive:
                workflows[key] = {"id": workflow_id, "delete": True}
                version = self.state.workflows[key].get("lock_version")
                if self.locked and isinstance(version, int):
                    workflows[key]["lock_version"] = version
        document["workflows"] = workflows
        return document

    def _warn_changed_on_server(self) -> None:
        by_id = {w.get("id"): w for w in (self.server.get("workflows") or {}).values()}
        for key, known in self.state.workflows.items():
            now = by_id.get(known.get("id"))
            then, version = known.get("lock_version"), (now or {}).get("lock_version")
            newer = isinstance(then, int) and isinstance(version, int) and version > then
            if now is not None and newer:
                click.echo(
                    f"Warning: {now.get('name')} ({key}) was changed on the server since "
                    f"{self.directory} was pulled (version {then}, now {version}); "
                    "deploying replaces those changes. `ferry pull` first to keep them.",
                    err=True,
                )


def refusal(refused: Refused, local: files.Local) -> Failure:
    """A refused document as a Failure listing each problem at its file and line (and how
    to get past a workflow someone saved on the server since the pull)."""
    lines = problem_lines(refused.problems, local)
    if any(str(p.get("path", "")).endswith(".lock_version") for p in refused.problems):
        lines.append(
            "Someone saved a workflow on the server since your pull. `ferry deploy --force` "
            "replaces their change with yours; or keep a copy of your files, `ferry pull "
            "--force`, and redo your change."
        )
    return Failure(refused.message, REFUSED, lines)


def workflow_state(exported: dict, local: dict) -> dict[str, dict]:
    """{local key: {"id", "lock_version"}} for each workflow of `local` the export has (by
    id, else by name)."""
    server = [w for w in (exported.get("workflows") or {}).values() if isinstance(w, dict)]
    found = {}
    for key, entry in local.items():
        if not isinstance(entry, dict):
            continue
        match = next((w for w in server if entry.get("id") and w.get("id") == entry["id"]), None)
        match = match or next((w for w in server if w.get("name") == entry.get("name")), None)
        if match is not None:
            found[str(key)] = {"id": match.get("id"), "lock_version": match.get("lock_version")}
    return found
