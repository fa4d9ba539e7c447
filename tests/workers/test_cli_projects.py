"""`ferry project-allowlist` and `ferry project-allow` as an operator runs them: real
processes against the test database, on a project committed for the test."""

from __future__ import annotations

import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, delete, select
from sqlalchemy.orm import Session

from app.models import AuditEvent, Project
from tests.workers.test_cli import ferry
from workers.cli import main


@pytest.fixture
def committed(app, settings):
    """A project committed outside the test's transaction (the command runs in another
    process), removed with its audit entries afterwards; yields (project_id, run)."""
    engine = create_engine(settings.database_url)
    with Session(engine) as session:
        project = Project(name="CLI allowlist project", egress_allowlist=["192.168.1.1"])
        session.add(project)
        session.commit()
        project_id = project.id

    def run(*args: str):
        return ferry(*args, env={"DATABASE_URL": settings.database_url})

    def read():
        with Session(engine) as session:
            stored = session.get(Project, project_id).egress_allowlist
            events = session.scalars(
                select(AuditEvent).where(AuditEvent.project_id == project_id)
            ).all()
            return stored, [(e.event, e.actor_id, e.changes) for e in events]

    yield project_id, run, read
    with engine.begin() as connection:
        # Its audit entries stay: the trail is append-only (migration 0011).
        connection.execute(delete(Project).where(Project.id == project_id))
    engine.dispose()


def test_print_add_set_and_clear(committed):
    project_id, run, read = committed
    shown = run("project-allowlist", str(project_id))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == "192.168.1.1\n"

    added = run("project-allow", str(project_id), "10.0.0.5:8080", "DHIS2.lan")
    assert added.returncode == 0, added.stderr
    assert added.stdout.splitlines() == ["192.168.1.1", "10.0.0.5:8080", "dhis2.lan"]
    stored, events = read()
    assert stored == ["192.168.1.1", "10.0.0.5:8080", "dhis2.lan"]
    # Ferry itself changed it: no user is named in the audit entry.
    assert events == [
        ("egress_changed", None, {"egress_allowlist": [["192.168.1.1"], stored]}),
    ]

    replaced = run("project-allowlist", str(project_id), "--set", "10.0.0.0/8")
    assert replaced.returncode == 0, replaced.stderr
    assert replaced.stdout == "10.0.0.0/8\n"
    assert "Warning: 10.0.0.0/8 opens" in replaced.stderr

    cleared = run("project-allowlist", str(project_id), "--clear")
    assert cleared.returncode == 0 and cleared.stdout == ""
    assert read()[0] == []


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["project-allow", "{id}", "10.0.0.5", "0.0.0.0/0"], "Entry 2 (0.0.0.0/0)"),
        (["project-allow", "{id}", "http://10.0.0.5/"], "without http://"),
        (["project-allow", "{id}", "a" * 300], "too long"),
        (["project-allowlist", "{id}", "--set", "10.0.0.5", "--clear"], "not both"),
        (["project-allowlist", "not-an-id"], "'not-an-id' is not a project id"),
        (["project-allow", str(uuid.UUID(int=7)), "10.0.0.5"], "There is no project"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(committed, args, says):
    project_id, run, read = committed
    result = run(*[a.replace("{id}", str(project_id)) for a in args])
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ferry: ") and says in lines[0], result.stderr
    assert read() == (["192.168.1.1"], [])


@pytest.mark.parametrize("command", ["project-allowlist", "project-allow"])
def test_commands_have_help(command):
    result = CliRunner().invoke(main, [command, "--help"])
    assert result.exit_code == 0
    assert "allowlist" in result.output
