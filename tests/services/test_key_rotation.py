"""Key rotation re-encrypts every secret column under the first key, resumably; and a
database dump holds no secret in clear."""

from __future__ import annotations

import dataclasses
import subprocess

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy import select
from sqlalchemy.engine import make_url

from app import create_app
from app.config import Settings
from app.extensions import db as _db
from app.models import Credential, OAuthClient, Trigger, User, WebhookAuth
from app.services import key_rotation
from app.services.credentials import oauth
from app.services.encryption import decrypt_json, decrypt_text, encrypt_text
from app.services.triggers import webhook_auth, webhook_signature_settings
from tests import factories
from tests.services.credentials.test_store import SECRET, make_credential
from tests.support import database_url, recreate_database, redis_url

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
TOTP = "JBSWY3DPEHPK3PXP-totp-seed"
CLIENT_SECRET = "oauth-client-s3cret-value"


def _secrets_everywhere(user) -> dict:
    """One value in every encrypted column; returns what to look for."""
    credential = make_credential(user)
    workflow = factories.workflow(factories.project(user))
    trigger_id = workflow.triggers[0].id
    webhook_key = webhook_auth.configure_webhook_auth(trigger_id, WebhookAuth.API_KEY)
    # A signing secret may be set on any webhook trigger (it is checked only once required).
    signing_secret = webhook_signature_settings.set_secret(trigger_id, "")
    user.totp_secret_encrypted = encrypt_text(TOTP)
    _db.session.commit()
    oauth.save_client(
        user,
        None,
        {
            "name": "Provider",
            "authorization_endpoint": "https://id.example.org/authorize",
            "token_endpoint": "https://id.example.org/token",
            "client_id": "ferry",
            "client_secret": CLIENT_SECRET,
        },
    )
    return {"credential": credential, "webhook_key": webhook_key, "signing_secret": signing_secret}


def _tokens() -> list[bytes]:
    columns = [
        Credential.body_encrypted,
        Trigger.webhook_secret_encrypted,
        Trigger.webhook_signature_secret_encrypted,
        User.totp_secret_encrypted,
        OAuthClient.client_secret_encrypted,
    ]
    return [
        bytes(token)
        for column in columns
        for token in _db.session.scalars(select(column).where(column.is_not(None)))
    ]


@pytest.fixture
def old_key(app):
    """The app encrypting with OLD only (as before a rotation)."""
    settings = app.config["FERRY_SETTINGS"]
    app.config["FERRY_SETTINGS"] = dataclasses.replace(settings, encryption_keys=(OLD,))
    yield
    app.config["FERRY_SETTINGS"] = settings


def test_rotation_round_trip(app, db, user, old_key):
    made = _secrets_everywhere(user)
    before = _tokens()
    settings = app.config["FERRY_SETTINGS"]
    app.config["FERRY_SETTINGS"] = dataclasses.replace(settings, encryption_keys=(NEW, OLD))
    report = key_rotation.rotate_all(batch_size=2)
    assert {column: r.rotated for column, r in report.items()} == {
        "credentials.body_encrypted": 1,
        "triggers.webhook_secret_encrypted": 1,
        "triggers.webhook_signature_secret_encrypted": 1,
        "users.totp_secret_encrypted": 1,
        "oauth_clients.client_secret_encrypted": 1,
    }
    after = _tokens()
    assert len(after) == 5 and not set(before) & set(after)
    new_only = Fernet(NEW.encode())
    assert all(new_only.decrypt(token) for token in after)
    # Running it again (as after an interruption) finds everything current.
    again = key_rotation.rotate_all()
    assert all(r.rotated == 0 and r.already_current == 1 for r in again.values())
    # With the old key gone, everything still opens.
    app.config["FERRY_SETTINGS"] = dataclasses.replace(settings, encryption_keys=(NEW,))
    credential = db.session.get(Credential, made["credential"].id)
    db.session.refresh(credential)
    assert decrypt_json(credential.body_encrypted)["password"] == SECRET
    db.session.refresh(user)
    assert decrypt_text(user.totp_secret_encrypted) == TOTP


def test_values_no_key_opens_are_reported_and_left_alone(app, db, user, old_key):
    credential = make_credential(user)
    settings = app.config["FERRY_SETTINGS"]
    app.config["FERRY_SETTINGS"] = dataclasses.replace(settings, encryption_keys=(NEW,))
    report = key_rotation.rotate_all()
    assert report["credentials.body_encrypted"].unreadable == [str(credential.id)]
    assert report["credentials.body_encrypted"].rotated == 0


def test_the_cli_command_rotates_and_a_dump_holds_no_plaintext(monkeypatch):
    from workers.cli_credentials import rotate_keys

    url = database_url("dump")
    recreate_database(url)
    app = create_app(
        Settings(env="test", database_url=url, redis_url=redis_url(), encryption_keys=(OLD,))
    )
    from workers.cli import upgrade_database

    upgrade_database(app)
    with app.app_context():
        owner = factories.user()
        made = _secrets_everywhere(owner)
        _db.session.remove()
        _db.engine.dispose()
    plain = [SECRET, TOTP, CLIENT_SECRET, made["webhook_key"], made["signing_secret"]]
    dump = _pg_dump(url)
    assert "credentials" in dump and "oauth_clients" in dump
    _assert_no_plaintext(dump, plain)

    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("FERRY_ENCRYPTION_KEYS", f"{NEW},{OLD}")
    result = CliRunner().invoke(rotate_keys, [])
    assert result.exit_code == 0, result.output
    assert "credentials.body_encrypted: 1 re-encrypted" in result.output
    assert "already under the first key" in result.output
    _assert_no_plaintext(_pg_dump(url), plain)


def _assert_no_plaintext(dump: str, values: list[str]) -> None:
    # Binary columns are dumped as hex, so look for that spelling as well.
    for value in values:
        assert value not in dump
        assert value.encode().hex() not in dump.lower()


def _pg_dump(url: str) -> str:
    target = make_url(url).set(drivername="postgresql")
    return subprocess.run(
        ["pg_dump", "--data-only", target.render_as_string(hide_password=False)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
