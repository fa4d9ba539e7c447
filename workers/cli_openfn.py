"""`ferry import-openfn FILE --owner EMAIL`: create a project from an OpenFn Lightning
project.yaml on the server (an admin's command, attached to the `ferry` group in
workers/cli.py). Prints the new project's id and what is left to port; a document that cannot
be imported prints every problem with its path and exits 1, creating nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from app.services.errors import Invalid
from workers.cli_support import build_app, fails_cleanly, settings_from_env


@click.command("import-openfn")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--owner", required=True, help="The email of the user who will own the project.")
@click.option("--dry-run", is_flag=True, help="Only check the file and list the notes.")
@fails_cleanly
def import_openfn(file: Path, owner: str, dry_run: bool) -> None:
    """Create a project from FILE, a Lightning project.yaml; OWNER becomes its owner."""
    from app.services.project_code import openfn
    from app.services.startup import require_database

    try:
        text = file.read_bytes()
    except OSError as error:
        click.echo(f"ferry: cannot read {file}: {error.strerror or error}", err=True)
        sys.exit(2)
    settings = settings_from_env()
    require_database(settings.database_url)
    with build_app(settings).app_context():
        user = openfn.owner_for_email(owner)
        try:
            if dry_run:
                document, notes = openfn.convert(text)
                click.echo(f"{file} can be imported as “{document['name']}” (nothing created).")
            else:
                project, notes = openfn.import_project(text, user)
                click.echo(f"Created project “{project.name}” ({project.id}), owned by {owner}.")
        except Invalid as error:
            problems = getattr(error, "problems", None) or []
            click.echo(f"ferry: {file} cannot be imported; nothing was created:", err=True)
            for problem in problems or [error]:
                path = getattr(problem, "path", None) or getattr(problem, "field", "")
                message = problem.message
                click.echo(f"  {path}: {message}" if path else f"  {message}", err=True)
            sys.exit(1)
        for note in notes:
            click.echo(f"- {note.kind}: {note.message} [{note.path}]")
