"""`ferry rotate-keys`, attached to the `ferry` group in workers/cli.py."""

from __future__ import annotations

import sys

import click

from workers.cli_support import build_app, fails_cleanly, settings_from_env


@click.command("rotate-keys")
@click.option("--batch-size", default=500, show_default=True, help="Rows per commit.")
@fails_cleanly
def rotate_keys(batch_size: int) -> None:
    """Re-encrypt every stored secret under the first key of FERRY_ENCRYPTION_KEYS.

    Safe to interrupt and run again. Afterwards the other keys can be removed.
    """
    from app.services.key_rotation import rotate_all
    from app.services.startup import require_database

    settings = settings_from_env()
    require_database(settings.database_url)
    app = build_app(settings)
    with app.app_context():
        report = rotate_all(batch_size)
    unreadable = False
    for column, result in report.items():
        click.echo(
            f"{column}: {result.rotated} re-encrypted, {result.already_current} already "
            f"under the first key"
        )
        if result.unreadable:
            unreadable = True
            click.echo(
                f"  {len(result.unreadable)} could not be decrypted with any key "
                f"(ids: {', '.join(result.unreadable[:20])})",
                err=True,
            )
    if unreadable:
        click.echo(
            "ferry: some values were left as they were: put back the key that wrote them.",
            err=True,
        )
        sys.exit(1)
    click.echo("Done. Every secret is now under the first key; older keys may be removed.")
