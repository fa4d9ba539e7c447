"""`ferry project-allowlist` and `ferry project-allow`: read and change a project's egress
allowlist from a terminal; `ferry project-limits`: its run limits. Attached to the `ferry`
group in workers/cli.py, they act as Ferry itself (no user), which the project's audit log
shows as "Ferry"."""

from __future__ import annotations

import sys
import uuid

import click

from app.services.errors import Invalid, NotFound
from workers.cli_support import build_app, fails_cleanly, settings_from_env


def _project_id(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text)
    except ValueError:
        _refuse(f"{text!r} is not a project id; copy it from the project's URL.")


def _refuse(message: str):
    """Bad input: one line on stderr, exit code 2."""
    click.echo(f"ferry: {message}", err=True)
    sys.exit(2)


def _app():
    from app.services.startup import require_database

    settings = settings_from_env()
    require_database(settings.database_url)
    return build_app(settings)


@click.command("project-allowlist")
@click.argument("project_id")
@click.option(
    "--set",
    "entries",
    multiple=True,
    help="Replace the list with these entries (repeatable), e.g. --set 10.0.0.5:8080.",
)
@click.option("--clear", is_flag=True, help="Empty the list: steps reach the internet only.")
@fails_cleanly
def project_allowlist(project_id: str, entries: tuple[str, ...], clear: bool) -> None:
    """Print a project's egress allowlist, one entry a line; --set or --clear replace it."""
    if entries and clear:
        _refuse("Give either --set entries or --clear, not both.")
    if entries or clear:
        _save(_project_id(project_id), list(entries), add=False)
        return
    wanted = _project_id(project_id)
    with _app().app_context():
        for entry in _project(wanted).egress_allowlist or []:
            click.echo(entry)


@click.command("project-allow")
@click.argument("project_id")
@click.argument("entries", nargs=-1, required=True)
@fails_cleanly
def project_allow(project_id: str, entries: tuple[str, ...]) -> None:
    """Add ENTRIES (an IP, CIDR range or hostname, each with an optional :port) to a
    project's egress allowlist; prints the whole list and any warnings."""
    _save(_project_id(project_id), list(entries), add=True)


def _project(project_id: uuid.UUID):
    """The project, or exit 2: a mistyped id is bad input like a bad entry."""
    from app.services import projects as project_service

    try:
        return project_service.get_project(project_id)
    except NotFound:
        _refuse(f"There is no project {project_id}.")


def _save(project_id: uuid.UUID, entries: list[str], *, add: bool) -> None:
    from app.services import project_settings
    from app.services.egress import allowlist

    with _app().app_context():
        project = _project(project_id)
        try:
            # The typed entries first, so that "Entry 2" counts the arguments as typed.
            allowlist.parse_entries(entries)
            if add:
                entries = list(project.egress_allowlist or []) + entries
            warnings = project_settings.replace_allowlist(None, project.id, entries)
        except Invalid as error:
            message = error.message
            _refuse("Entry " + message[5:] if message.startswith("Line ") else message)
        for entry in project.egress_allowlist or []:
            click.echo(entry)
        for warning in warnings:
            click.echo(f"Warning: {warning}", err=True)


_LIMIT_HELP = "{what}; 'default' for the server's default."


@click.command("project-limits")
@click.argument("project_id")
@click.option(
    "--run-timeout", "run_timeout_s", help=_LIMIT_HELP.format(what="Seconds a run may take")
)
@click.option("--memory", "step_memory_mb", help=_LIMIT_HELP.format(what="MB of memory per step"))
@click.option("--payload", "max_payload_kb", help=_LIMIT_HELP.format(what="Largest payload in KB"))
@click.option(
    "--discard-logs/--keep-logs",
    default=None,
    help="Drop (or keep) what steps print or log; errors are always kept.",
)
@fails_cleanly
def project_limits(project_id: str, discard_logs: bool | None, **given: str | None) -> None:
    """Print a project's run limits; the options change the ones they name (the others stay)."""
    from app.services import project_limits as limits

    wanted = _project_id(project_id)
    with _app().app_context():
        project = _project(wanted)
        if discard_logs is not None or any(value is not None for value in given.values()):
            values = {}
            for name, value in given.items():
                saved = getattr(project, name)
                if value is None:
                    value = "" if saved is None else str(saved)
                values[name] = "" if value.strip().lower() == "default" else value
            keep = project.discard_logs if discard_logs is None else discard_logs
            try:
                limits.update_limits(None, project.id, values, keep)
            except Invalid as error:
                _refuse(error.message)
        server = limits.instance_values()
        for limit in limits.LIMITS:
            saved = getattr(project, limit.field)
            shown = f"{saved} {limit.unit}" if saved is not None else "the server's default"
            default, maximum = server[limit.field]["default"], server[limit.field]["maximum"]
            click.echo(
                f"{limit.label}: {shown} (default {default}, at most {maximum} {limit.unit})"
            )
        click.echo(f"Keep print/log output: {'no' if project.discard_logs else 'yes'}")
