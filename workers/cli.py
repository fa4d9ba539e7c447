"""The `ferry` command: run the platform, its parts, and administrative tasks."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

import click

from app.services.startup import require_database
from workers.cli_code import deploy, diff, pull
from workers.cli_credentials import rotate_keys
from workers.cli_openfn import import_openfn
from workers.cli_projects import project_allow, project_allowlist, project_limits
from workers.cli_support import build_app, fails_cleanly, settings_from_env, upgrade_database


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Ferry: workflow automation for governments and NGOs."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--worker-processes",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Worker processes (as `ferry worker --processes`): with 2 or more, "
    "FERRY_PRIORITY_SLOTS of them keep the priority lane free.",
)
@fails_cleanly
def run(host: str, port: int, worker_processes: int) -> None:
    """Start everything in one go: database upgrade, web, worker and scheduler (development)."""
    from workers.all_in_one import run_all

    run_all(settings_from_env(), host, port, worker_processes=worker_processes)


@main.command()
# Listening on every address is what a server in a container must do; `--host` narrows it.
@click.option("--host", default="0.0.0.0", show_default=True, help="Listen address.")  # noqa: S104  # nosec B104
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--workers",
    "processes",
    default=4,
    show_default=True,
    type=int,
    help="gunicorn worker processes.",
)
@click.option(
    "--threads",
    default=40,
    show_default=True,
    type=int,
    help="Threads per process (long-lived live-view streams use one each).",
)
@click.option(
    "--access-log/--no-access-log",
    default=True,
    show_default=True,
    help="Log requests to stdout (behind a proxy that logs them, turn it off).",
)
@click.option(
    "--access-log-webhooks",
    is_flag=True,
    help="Log accepted webhooks too (each is a work order anyway, and a line costs a third "
    "of a webhook's CPU). Refused ones are always logged.",
)
@click.option(
    "--webhooks-only",
    is_flag=True,
    help="A webhook tier on sync workers (more webhooks/s than threads, but a live page "
    "would hold a whole process): route only /i/ here (docs/scaling.md).",
)
@fails_cleanly
def web(host, port, processes, threads, access_log, access_log_webhooks, webhooks_only) -> None:
    """Serve the web app and webhooks with gunicorn (production)."""
    settings = settings_from_env()
    require_database(settings.database_url)
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(processes),
        *(["--worker-class", "sync"] if webhooks_only else ["--worker-class", "gthread"]),
        *([] if webhooks_only else ["--threads", str(threads)]),
        *(["--access-logfile", "-"] if access_log else []),
        "--logger-class",
        "app.access_log.AccessLogger",
        "app.wsgi:application",
    ]
    if access_log_webhooks:
        os.environ["FERRY_ACCESS_LOG_WEBHOOKS"] = "1"  # read by AccessLogger in each worker
    os.execv(sys.executable, argv)  # noqa: S606 -- replace this process so signals reach gunicorn


@main.command()
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option(
    "--processes",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Worker processes to start; FERRY_PRIORITY_SLOTS of them (when more than one) "
    "take only manual runs, retries and synchronous webhooks.",
)
@click.option(
    "--lane",
    type=click.Choice(["all", "priority"]),
    default="all",
    show_default=True,
    help="One process's queues: all (priority runs first, then batch runs and mail) or "
    "priority only.",
)
@fails_cleanly
def worker(burst: bool, processes: int, lane: str) -> None:
    """Run a worker that executes runs and sends mail from the Redis queues."""
    settings = settings_from_env()
    if processes > 1:
        from workers.worker_pool import lanes, run_pool

        if lane != "all":
            raise click.UsageError(
                "--lane is for one process; with --processes, the pool "
                "gives FERRY_PRIORITY_SLOTS of them the priority lane."
            )
        plan = lanes(processes, settings.priority_slots)
        require_database(settings.database_url)
        sys.exit(run_pool(plan, burst=burst))
    require_database(settings.database_url)
    from workers.worker import run_worker

    run_worker(build_app(settings), burst=burst, lane=lane)


@main.command()
@fails_cleanly
def scheduler() -> None:
    """Run the scheduler: periodic platform tasks (and, from the run engine, cron triggers)."""
    from workers.scheduler import run_scheduler

    settings = settings_from_env()
    require_database(settings.database_url)
    run_scheduler(build_app(settings))


@main.group()
def db() -> None:
    """Database tasks."""


@db.command("upgrade")
@fails_cleanly
def db_upgrade() -> None:
    """Bring the database schema up to date (safe to run again)."""
    settings = settings_from_env()
    app = build_app(settings)
    require_database(settings.database_url)
    upgrade_database(app)
    click.echo("Database is up to date.")


@main.command("create-user")
@click.argument("email")
@click.option("--password", help="The password (asked for when not given).")
@click.option("--name", default="", help="The person's name.")
@click.option("--superuser", is_flag=True, help="Allow managing users and instance settings.")
@fails_cleanly
def create_user(email: str, password: str | None, name: str, superuser: bool) -> None:
    """Create a user who can sign in with EMAIL."""
    from app.services import accounts

    if password is None:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat the password: ") != password:
            raise click.ClickException("The two passwords differ; nothing was created.")
    app = build_app()
    with app.app_context():
        user = accounts.create_user(email, password, name=name, superuser=superuser)
        kind = "superuser" if user.is_superuser else "user"
        click.echo(f"Created {kind} {user.email}.")


@main.command("create-token")
@click.argument("email")
@click.option("--name", default="", help="What the token is for, to tell tokens apart.")
@fails_cleanly
def create_token(email: str, name: str) -> None:
    """Create an API token for EMAIL and print it once (it is stored only as a hash)."""
    from app.services import api_tokens

    app = build_app()
    with app.app_context():
        token = api_tokens.create_token_for_email(email, name)
    click.echo(token)
    click.echo(
        "Keep this token now: Ferry stores only its hash and cannot show it again.", err=True
    )


@main.command()
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-a", "--adaptor", help="Adaptor of a single job, e.g. http@1.")
@click.option(
    "-s",
    "--state",
    "state_path",
    type=click.Path(dir_okay=False),
    help="Input state JSON file (default: {}).",
)
@click.option(
    "-c",
    "--credential",
    "credential_path",
    type=click.Path(dir_okay=False),
    help="Credential JSON file for a single job (becomes state.configuration).",
)
@click.option(
    "-o",
    "--output",
    "output_path",
    type=click.Path(dir_okay=False),
    help="Write the final state here (default: standard output).",
)
@click.option("--only", help="Workflow files: run only this job.")
@click.option("--start", help="Workflow files: start at this job and follow its edges.")
@click.option(
    "--allow",
    multiple=True,
    help="Let steps reach this private host, IP or CIDR (repeatable), e.g. 127.0.0.1.",
)
@click.option("--timeout", default=300.0, show_default=True, help="Seconds before a run is killed.")
def execute(
    path: Path, adaptor, state_path, credential_path, output_path, only, start, allow, timeout
) -> None:
    """Run a job file (with -a ADAPTOR) or a workflow YAML file locally, in the sandbox.

    Logs go to standard error. Exit code: 0 when every executed step succeeded, 1 when a
    step failed, 2 when code could not run (e.g. a syntax error), 3 on a timeout or limit.
    """
    import json

    from workers.local_runner import LocalFileError, execute_job, execute_workflow, read_json
    from workers.runtime.sandbox import Sandbox

    try:
        state = read_json(state_path, "State") or {}
        with Sandbox() as sandbox:
            if path.suffix in {".yaml", ".yml"}:
                code, final = execute_workflow(
                    sandbox,
                    path,
                    state,
                    only=only,
                    start=start,
                    allow=list(allow),
                    timeout_s=timeout,
                )
            else:
                if not adaptor:
                    raise LocalFileError(
                        "A single job needs its adaptor: -a http@1 (or common@1, dhis2@1, ...)."
                    )
                if not path.exists():
                    raise LocalFileError(f"Job file {path} does not exist.")
                code, final = execute_job(
                    sandbox,
                    path.read_text(),
                    adaptor,
                    state,
                    read_json(credential_path, "Credential"),
                    allow=list(allow),
                    timeout_s=timeout,
                )
    except LocalFileError as error:
        click.echo(f"ferry: {error}", err=True)
        sys.exit(2)
    text = json.dumps(final, indent=2, ensure_ascii=False) if final is not None else "null"
    if output_path:
        Path(output_path).write_text(text + "\n")
    else:
        click.echo(text)
    sys.exit(code)


@main.command()
@click.argument("adaptor")
@click.argument("operation", required=False)
def docs(adaptor: str, operation: str | None) -> None:
    """Show an adaptor's operations, or one operation's parameters and example."""
    from workers.adaptor_docs import render

    try:
        click.echo(render(adaptor, operation))
    except LookupError as error:
        click.echo(f"ferry: {error.args[0]}", err=True)
        sys.exit(2)


@main.command("generate-key")
def generate_key() -> None:
    """Print a new key for FERRY_ENCRYPTION_KEYS."""
    from cryptography.fernet import Fernet

    click.echo(Fernet.generate_key().decode())


main.add_command(rotate_keys)
main.add_command(project_allowlist)
main.add_command(project_allow)
main.add_command(project_limits)
main.add_command(import_openfn)
main.add_command(pull)
main.add_command(diff)
main.add_command(deploy)
