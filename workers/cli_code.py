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
from workers.project_code.plan import Plan, refusal, workflow_state

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
    workflows = workflow_state(exported, exported.get("workflows") or {})
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
    plan = Plan(directory, endpoint, token)
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
    plan = Plan(directory, endpoint, token, locked=not force)
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
        raise refusal(refused, plan.local) from None
    plan.refresh(answer.get("document") or plan.api.document(plan.project_id))
    applied = len(answer.get("changes") or plan.changes)
    click.echo(f"Deployed {applied} {_changes(range(applied))} to {plan.title}.")


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


def _changes(items) -> str:
    return "change" if len(items) == 1 else "changes"
