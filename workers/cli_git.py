"""`ferry pull --from-git PROJECT_ID`: on the server, bring in what was pushed to a project's
git remote now, instead of waiting for a person to press "Pull from git". It runs the same
sync as the button (see app/services/git_sync/sync.py) in this process, as Ferry itself,
and needs the server's DATABASE_URL and REDIS_URL rather than an API token.

Exit codes: 0 in sync, 1 a conflict or a failed sync (printed), 2 bad input or a project
that is not connected.
"""

from __future__ import annotations

import sys
import uuid

import click
from redis.exceptions import RedisError

from workers.cli_support import build_app, settings_from_env


def _refuse(message: str, code: int = 2):
    click.echo(f"ferry: {message}", err=True)
    sys.exit(code)


def pull_from_git(project: str) -> None:
    """Sync PROJECT (its id) with its git remote and say how it went."""
    from app.services.git_sync import remotes, sync
    from app.services.git_sync.queueing import PULL
    from app.services.startup import require_database

    try:
        project_id = uuid.UUID(project)
    except ValueError:
        _refuse(f"{project[:80]!r} is not a project id; copy it from the project's URL.")
    settings = settings_from_env()
    require_database(settings.database_url)
    with build_app(settings).app_context():
        remote = remotes.get_remote(project_id)
        if remote is None:
            _refuse(
                f"Project {project_id} is not connected to git (or does not exist); "
                "connect it under Settings → Git sync."
            )
        try:
            status = sync.run(project_id, None, PULL)
        except RedisError as error:
            _refuse(f"Redis is unreachable ({error}); the sync needs its lock.", 1)
        remote = remotes.get_remote(project_id)
        if status == "ok":
            click.echo(f"In sync with {remote.url} ({remote.branch}) at {remote.synced_commit}.")
            return
        if status == "conflict":
            conflict = sync.conflict_of(remote)
            click.echo(
                "ferry: Ferry and git both changed the same entries; nothing was applied:",
                err=True,
            )
            for clash in conflict.clashes if conflict else []:
                click.echo(f"  {clash.path}", err=True)
            click.echo(
                "  Choose Keep Ferry's or Take git's on the project's Git sync settings page.",
                err=True,
            )
            sys.exit(1)
        _refuse(f"The sync failed: {remote.last_error if remote else status}", 1)
