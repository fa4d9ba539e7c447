"""`ferry pull`, `ferry diff` and `ferry deploy`: a project as files in a directory (project.yaml,
job files, .ferry/state.json), kept in step with a Ferry server through its provisioning API.
They are HTTP clients (a developer's laptop, a CI job): no database, only an endpoint and an
API token. Attached to the `ferry` group in workers/cli.py.

Exit codes: 0 done (diff: no differences), 1 the server refused (diff: there are differences,
and 2 for a refusal), 2 a local or configuration problem, 3 the server cannot be reached.
"""

from __future__ import annotations

import sys
from functools import wraps
from pathlib import Path

import click

from workers.project_code import directory as files
from workers.project_code.client import Api, Refused, project_id_for
from workers.project_code.config import Connection, resolve
from workers.project_code.failure import LOCAL, REFUSED, Failure
from workers.project_code.report import change_lines, problem_lines, syntax_warnings

_DIRECTORY = click.Path(file_okay=False, path_type=Path)


def _connection_options(command):
    command = click.option(
        "--token", help="API token (else FERRY_API_TOKEN, else the config file)."
    )(command)
    return click.option(
        "--endpoint",
        help="Ferry's address, e.g. https://ferry.example.org (else FERRY_ENDPOINT, else "
        "the config file ~/.config/ferry/config.toml or $FERRY_CONFIG).",
    )(command)


def _reports_failures(refused_exit: int = REFUSED):
    """Print a Failure as `ferry: message` plus its detail lines on stderr and exit with its
    code (`refused_exit` instead of 1, for `diff`, whose 1 means "there are differences")."""

    def decorate(command):
        @wraps(command)
        def wrapper(*args, **kwargs):
            try:
                return command(*args, **kwargs)
            except Failure as failure:
                click.echo(f"ferry: {failure.message}", err=True)
                for line in failure.details:
                    click.echo(f"  {line}", err=True)
                code = failure.exit_code
                sys.exit(refused_exit if code == REFUSED else code)

        return wrapper

    return decorate


@click.command("pull")
@click.argument("project")
@click.argument("directory", default=".", type=_DIRECTORY)
@click.option("--force", is_flag=True, help="Overwrite changes in DIRECTORY not yet deployed.")
@click.option(
    "--from-git",
    is_flag=True,
    help="On the server: bring in what was pushed to PROJECT's git remote now (PROJECT is "
    "its id; uses DATABASE_URL and REDIS_URL, not a token; DIRECTORY is not used).",
)
@_connection_options
@_reports_failures()
def pull(project: str, directory: Path, force: bool, from_git: bool, endpoint, token) -> None:
    """Write PROJECT (its id, or its exact name) into DIRECTORY (default: here): project.yaml,
    one file per job body under jobs/, and .ferry/state.json."""
    if from_git:
        from workers.cli_git import pull_from_git

        pull_from_git(project)
        return
    state = files.read_state(directory)
    connection = resolve(endpoint, token, pulled_from=state.endpoint if state else None)
    api = Api(connection)
    project_id = project_id_for(api, project)
    _guard_pull(directory, state, project_id, connection, force)
    exported = api.document(project_id)
    written = files.write_project(
        directory, files.strip_ids(exported), list(state.files) if state else []
    )
    workflows = _workflow_state(exported, exported.get("workflows") or {})
    files.write_state(directory, files.State(connection.endpoint, project_id, workflows, written))
    jobs = len(written) - 1
    click.echo(
        f"Pulled {exported.get('name')} from {connection.endpoint} into {directory}: "
        f"{len(workflows)} workflow{'s' * (len(workflows) != 1)}, "
        f"{jobs} job file{'s' * (jobs != 1)}."
    )


@click.command("diff")
@click.argument("directory", default=".", type=_DIRECTORY)
@_connection_options
@_reports_failures(refused_exit=LOCAL)
def diff(directory: Path, endpoint, token) -> None:
    """Show what `ferry deploy` would change on the server. Exit code 0 when nothing
    differs, 1 when something does, 2 on trouble (3: the server cannot be reached)."""
    plan = _Plan(directory, endpoint, token)
    if not plan.changes:
        click.echo(f"No differences: {directory} matches {plan.title}.")
        return
    click.echo(f"{len(plan.changes)} {_changes(plan.changes)} to {plan.title}:")
    for line in plan.lines():
        click.echo(line)
    sys.exit(1)


@click.command("deploy")
@click.argument("directory", default=".", type=_DIRECTORY)
@click.option("--yes", "-y", is_flag=True, help="Apply without asking.")
@click.option(
    "--force",
    is_flag=True,
    help="Deploy even over workflows someone changed on the server since the pull.",
)
@_connection_options
@_reports_failures()
def deploy(directory: Path, yes: bool, force: bool, endpoint, token) -> None:
    """Apply DIRECTORY's project.yaml and job files to the server after showing the changes
    (workflows removed from project.yaml are deleted there), then refresh the state file.
    A workflow someone saved on the server since the pull is refused unless --force."""
    plan = _Plan(directory, endpoint, token, locked=not force)
    if not plan.changes:
        plan.refresh(plan.server)
        click.echo(f"Nothing to deploy: {directory} matches {plan.title}.")
        return
    count = len(plan.changes)
    click.echo(f"{count} {_changes(plan.changes)} to {plan.title}:")
    for line in plan.lines():
        click.echo(line)
    if not yes:
        if not sys.stdin.isatty():
            raise Failure(
                "Not deploying: there is no terminal to ask for confirmation. Pass --yes to "
                "apply without asking."
            )
        question = (
            f"Apply {'this' if count == 1 else 'these'} {count} {_changes(plan.changes)} to "
            f"{plan.server.get('name')} on {plan.connection.endpoint}?"
        )
        if not click.confirm(question, default=False):
            raise Failure("Nothing was deployed.", REFUSED)
    try:
        answer = plan.api.apply(plan.project_id, plan.outgoing)
    except Refused as refused:
        raise _refusal(refused, plan.local) from None
    plan.refresh(answer.get("document") or plan.api.document(plan.project_id))
    applied = len(answer.get("changes") or plan.changes)
    click.echo(f"Deployed {applied} {_changes(range(applied))} to {plan.title}.")


class _Plan:
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
            raise _refusal(refused, self.local) from None

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
        self.state.workflows = _workflow_state(exported, kept)
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


def _refusal(refused: Refused, local: files.Local) -> Failure:
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


def _guard_pull(directory: Path, state, project_id: str, connection: Connection, force: bool):
    """Refuse to overwrite what a person changed and has not deployed (unless --force)."""
    if force:
        return
    hint = "deploy them first (ferry deploy), or pass --force to overwrite them."
    if state is None:
        if (directory / files.PROJECT_FILE).exists():
            raise Failure(
                f"{directory} already holds a project.yaml that ferry did not pull; pull into "
                "another directory, or pass --force to overwrite it."
            )
        return
    if state.project_id != project_id or state.endpoint != connection.endpoint:
        raise Failure(
            f"{directory} holds project {state.project_id} from {state.endpoint}; pull into "
            "another directory, or pass --force to replace it."
        )
    changed = files.local_changes(directory, state)
    if changed:
        raise Failure(f"{directory} has changes not deployed ({', '.join(changed)}): {hint}")


def _workflow_state(exported: dict, local: dict) -> dict[str, dict]:
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


def _changes(items) -> str:
    return "change" if len(items) == 1 else "changes"
