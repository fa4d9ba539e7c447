"""`ferry project-limits` as an operator runs it: a real process against the test database,
on a project committed for the test; bad values exit 2 with the sentence, nothing saved."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, delete, select
from sqlalchemy.orm import Session

from app.models import AuditEvent, Project
from tests.workers.test_cli import ferry
from workers.cli import main


@pytest.fixture
def committed(app, settings):
    """A project committed outside the test's transaction; yields (run, invoke, read)."""
    engine = create_engine(settings.database_url)
    with Session(engine) as session:
        project = Project(name="CLI limits project", run_timeout_s=600)
        session.add(project)
        session.commit()
        project_id = project.id

    def run(*args: str):
        """In a real process, as an operator would."""
        return ferry("project-limits", str(project_id), *args,
                     env={"DATABASE_URL": settings.database_url})  # fmt: skip

    def invoke(*args: str):
        """The same command in this process (a process costs seconds on a busy machine)."""
        env = {"DATABASE_URL": settings.database_url}
        return CliRunner().invoke(main, ["project-limits", str(project_id), *args], env=env)

    def read():
        with Session(engine) as session:
            saved = session.get(Project, project_id)
            events = session.scalars(
                select(AuditEvent.changes).where(AuditEvent.project_id == project_id)
            ).all()
            limits = (saved.run_timeout_s, saved.step_memory_mb, saved.max_payload_kb)
            return limits, saved.discard_logs, list(events)

    yield run, invoke, read
    with engine.begin() as connection:
        # Its audit entries stay: the trail is append-only (migration 0011).
        connection.execute(delete(Project).where(Project.id == project_id))
    engine.dispose()


def test_print_then_change_some_limits_keeping_the_others(committed):
    run, invoke, read = committed
    shown = run()
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == [
        "Run time limit: 600 seconds (default 300, at most 3600 seconds)",
        "Memory per step: the server's default (default 512, at most 2048 MB)",
        "Largest accepted payload: the server's default (default 10240, at most 10240 KB)",
        "Keep print/log output: yes",
    ]
    changed = invoke("--memory", "128", "--discard-logs")
    assert changed.exit_code == 0, changed.output
    assert "Memory per step: 128 MB" in changed.output
    assert read() == ((600, 128, None), True, [
        {"step_memory_mb": [None, 128], "discard_logs": [False, True]}
    ])  # fmt: skip
    back = invoke("--run-timeout", "default", "--keep-logs")
    assert back.exit_code == 0, back.output
    assert read()[:2] == ((None, 128, None), False)


def test_a_bad_value_exits_2_with_the_sentence_and_saves_nothing(committed):
    # Every refusal's wording is tested on the service (tests/services/test_project_limits.py).
    _, invoke, read = committed
    refused = invoke("--memory", "99999", "--discard-logs")
    assert refused.exit_code == 2 and refused.stdout == ""
    assert "Memory per step can be at most 2,048 MB on this server" in refused.stderr
    assert read() == ((600, None, None), False, [])


def test_a_project_id_that_is_not_one_is_refused():
    refused = CliRunner().invoke(main, ["project-limits", "not-an-id"])
    assert refused.exit_code == 2 and "is not a project id" in refused.stderr
