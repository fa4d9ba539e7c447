"""Settings from the environment: defaults, validation, and production refusals."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from app.config import ConfigError, Settings

GOOD_KEY = Fernet.generate_key().decode()
GOOD_SECRET = "s" * 48


def test_defaults_need_nothing_set():
    settings = Settings.from_env({})
    assert settings.database_url.startswith("sqlite:///")
    assert settings.uses_default_redis
    assert not settings.is_production


def test_plain_postgresql_url_uses_psycopg3():
    settings = Settings.from_env({"DATABASE_URL": "postgresql://u:p@db:5432/ferry"})
    assert settings.database_url == "postgresql+psycopg://u:p@db:5432/ferry"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DATABASE_URL", "not a url", "DATABASE_URL is malformed"),
        ("DATABASE_URL", "mysql://u@h/db", "Ferry supports postgresql://"),
        ("DATABASE_URL", "postgresql://u@h:5432", "names no database"),
        ("REDIS_URL", "http://localhost", "REDIS_URL is malformed"),
        ("REDIS_URL", "redis://localhost:abc/0", "port that is not a number"),
        ("FERRY_ENCRYPTION_KEYS", "short", "key #1 is not a valid key"),
        ("FERRY_MAX_DATACLIP_MB", "ten", "FERRY_MAX_DATACLIP_MB must be a whole number"),
        ("FERRY_RUN_TIMEOUT_S", "0", "must be greater than zero"),
        ("FERRY_ENV", "staging", "FERRY_ENV must be"),
    ],
)
def test_bad_values_name_the_variable(variable, value, expected):
    with pytest.raises(ConfigError, match=expected):
        Settings.from_env({variable: value})


def test_malformed_database_url_hides_its_password():
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"DATABASE_URL": "postgresql://u:hunter2secret@h:notaport/db"})
    assert "hunter2secret" not in str(caught.value)


def test_production_refuses_the_default_secret_key():
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        Settings.from_env({"FERRY_ENV": "production", "FERRY_ENCRYPTION_KEYS": GOOD_KEY})


def test_production_refuses_the_default_encryption_key():
    with pytest.raises(ConfigError, match="FERRY_ENCRYPTION_KEYS is not set"):
        Settings.from_env({"FERRY_ENV": "production", "SECRET_KEY": GOOD_SECRET})


def test_production_starts_with_its_own_keys():
    settings = Settings.from_env(
        {
            "FERRY_ENV": "production",
            "SECRET_KEY": GOOD_SECRET,
            "FERRY_ENCRYPTION_KEYS": f"{GOOD_KEY}, {Fernet.generate_key().decode()}",
        }
    )
    assert settings.is_production
    assert len(settings.encryption_keys) == 2
    assert settings.encryption_keys[0] == GOOD_KEY


def test_https_base_url_makes_cookies_secure():
    config = Settings.from_env({"BASE_URL": "https://ferry.example.org/"}).flask_config()
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_live_view_streams_leave_threads_for_pages():
    from workers.cli import web

    settings = Settings.from_env({})
    threads = next(option.default for option in web.params if option.name == "threads")
    assert threads == 40
    assert settings.sse_max_streams == 32 == settings.flask_config()["FERRY_SSE_MAX_STREAMS"]
    assert threads - settings.sse_max_streams >= 8  # `ferry web` keeps threads for pages
    assert Settings.from_env({"FERRY_SSE_MAX_STREAMS": "100"}).sse_max_streams == 100
    assert Settings.from_env({"FERRY_SSE_MAX_STREAMS": "0"}).sse_max_streams == 0  # poll only
    with pytest.raises(ConfigError, match="FERRY_SSE_MAX_STREAMS must be a whole number"):
        Settings.from_env({"FERRY_SSE_MAX_STREAMS": "many"})
    with pytest.raises(ConfigError, match="greater than zero"):
        Settings.from_env({"FERRY_SSE_MAX_STREAMS": "-1"})


def test_the_deletion_grace_period_is_a_week_unless_set():
    assert Settings.from_env({}).deletion_grace_days == 7
    assert Settings.from_env({"FERRY_DELETION_GRACE_DAYS": "30"}).deletion_grace_days == 30
    assert Settings.from_env({"FERRY_DELETION_GRACE_DAYS": "0"}).deletion_grace_days == 0
    for bad, says in [("-1", "0 \\(purge at once\\)"), ("soon", "whole number"), ("3651", "3650")]:
        with pytest.raises(ConfigError, match=f"FERRY_DELETION_GRACE_DAYS.*{says}"):
            Settings.from_env({"FERRY_DELETION_GRACE_DAYS": bad})
