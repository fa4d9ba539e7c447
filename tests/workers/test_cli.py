"""The `ferry` command as an operator uses it: real processes against the test database."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, delete, select

from app.models import ApiToken, User
from app.services import accounts
from tests.support import log_in
from workers.cli import main

PASSWORD = "correct horse battery staple"


def ferry(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `ferry ARGS` in a fresh process, as a person would in a terminal."""
    return subprocess.run(
        [sys.executable, "-m", "workers", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def remove_committed_users(settings):
    """Delete users that a subprocess committed, after the test's own transaction ended."""
    emails: list[str] = []
    yield emails
    engine = create_engine(settings.database_url)
    with engine.begin() as connection:
        connection.execute(delete(User).where(User.email.in_(emails)))
    engine.dispose()


def test_create_user_then_sign_in(remove_committed_users, settings, client):
    email = f"a{os.getpid()}@example.org"
    remove_committed_users.append(email)
    result = ferry(
        "create-user",
        email,
        "--password",
        PASSWORD,
        "--superuser",
        env={"DATABASE_URL": settings.database_url},
    )
    assert result.returncode == 0, result.stderr
    assert f"Created superuser {email}." in result.stdout
    response = log_in(client, email, PASSWORD)
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_create_user_refuses_a_short_password(settings):
    result = ferry(
        "create-user",
        "b@example.org",
        "--password",
        "short",
        env={"DATABASE_URL": settings.database_url},
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "ferry: The password must be at least 12 characters long."


def test_create_token_prints_a_token_stored_only_as_a_hash(remove_committed_users, settings, db):
    email = f"token{os.getpid()}@example.org"
    remove_committed_users.append(email)
    assert (
        ferry(
            "create-user",
            email,
            "--password",
            PASSWORD,
            env={"DATABASE_URL": settings.database_url},
        ).returncode
        == 0
    )
    result = ferry("create-token", email, env={"DATABASE_URL": settings.database_url})
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert token.startswith("fry_") and len(token) > 40
    assert "cannot show it again" in result.stderr
    stored = db.session.scalars(select(ApiToken.token_digest)).all()
    assert token not in stored
    found = accounts.user_for_api_token(token)
    assert found is not None and found.email == email
    assert accounts.user_for_api_token(token + "x") is None


def test_create_token_for_unknown_user_says_so(settings):
    result = ferry("create-token", "ghost@example.org", env={"DATABASE_URL": settings.database_url})
    assert result.returncode == 1
    assert result.stderr.strip() == "ferry: No user has the email ghost@example.org."


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/ferry"},
            "ferry: cannot reach the database at postgresql+psycopg://postgres@127.0.0.1:1/ferry",
        ),
        (
            {"DATABASE_URL": "postgresql://u:secretpw@host:notaport/ferry"},
            "ferry: DATABASE_URL is malformed",
        ),
        ({"FERRY_ENV": "production"}, "ferry: SECRET_KEY is not set"),
        (
            {"FERRY_ENV": "production", "SECRET_KEY": "x" * 40},
            "ferry: FERRY_ENCRYPTION_KEYS is not set",
        ),
    ],
)
def test_bad_configuration_stops_with_one_clear_line(env, expected):
    result = ferry("db", "upgrade", env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(expected)
    assert "Traceback" not in result.stderr
    assert "secretpw" not in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["run"],
        ["web"],
        ["worker"],
        ["scheduler"],
        ["db", "upgrade"],
        ["create-user"],
        ["create-token"],
        ["generate-key"],
    ],
)
def test_every_command_has_help(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage: " in result.output
