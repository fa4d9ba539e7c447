"""Every setting Ferry reads, taken from the environment through small typed helpers.

Nothing here connects to anything: parsing and validating values only, so `create_app`
stays free of I/O. Problems are raised as `ConfigError` with one sentence that names the
variable to fix; the CLI prints that sentence instead of a traceback.

Long because every setting and its check live in this one module, so that the whole list
of what Ferry reads from the environment can be read in one place.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"

# Development defaults. They let `make run` start with nothing configured, and production
# mode refuses them so a real deployment can never run on a key published in this file.
DEV_SECRET_KEY = "ferry-development-secret-key-do-not-use-in-production"  # noqa: S105
DEV_ENCRYPTION_KEY = "ZmVycnktZGV2ZWxvcG1lbnQta2V5LW5vdC1zZWNyZXQ="
DEFAULT_DATABASE_URL = f"sqlite:///{INSTANCE_DIR / 'ferry.db'}"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable and the fix."""


@dataclass(frozen=True)
class Settings:
    """Ferry's typed settings; build one with `Settings.from_env()`."""

    env: str = "development"
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str = DEFAULT_REDIS_URL
    secret_key: str = DEV_SECRET_KEY
    encryption_keys: tuple[str, ...] = (DEV_ENCRYPTION_KEY,)
    mail_url: str | None = None
    base_url: str = "http://127.0.0.1:5000"
    # Where a step's `collections.*` operations reach Ferry's API (FERRY_API_URL; empty means
    # BASE_URL), e.g. an internal address workers reach when BASE_URL is the public one; and
    # the largest JSON value a collection entry may hold.
    api_url: str = ""
    collections_max_value_kb: int = 1024
    max_dataclip_mb: int = 10
    run_timeout_s: int = 300
    # Per-project limits (issue 17): a project admin may set its run time limit and memory
    # per step anywhere up to these maxima (the defaults above and `step_memory_mb` apply
    # when a project sets none); its largest payload may only go below FERRY_MAX_DATACLIP_MB.
    max_run_timeout_s: int = 3600
    step_memory_mb: int = 512
    max_step_memory_mb: int = 2048
    webhook_reply_timeout_s: int = 30
    # Requests one webhook trigger may accept in any minute; None: no limit (each counted
    # request costs a Redis round trip before anything is stored).
    webhook_requests_per_minute: int | None = None
    # How often the scheduler queues the retention purge (app/services/retention/purge.py).
    retention_purge_every_s: int = 300
    # A run whose worker stopped heartbeating for `lost_after_s` is marked lost by the
    # scheduler's reaper: within 30 s of a kill, see `app.services.runs.maintenance`.
    heartbeat_s: int = 5
    lost_after_s: int = 20
    # Worker processes of `ferry worker --processes N` that take only priority-lane runs
    # (manual runs, retries, synchronous webhooks), so batch work never fills every slot.
    priority_slots: int = 1
    # Live-view streams one web process serves at once; each holds a server thread, so keep
    # it at most `ferry web --threads` (40) minus 8 threads left for ordinary pages.
    sse_max_streams: int = 32
    # People: self sign-up (off unless FERRY_ALLOW_SIGNUP=true), whether superusers must use
    # MFA, how long a session lives idle and at most, and how many sign-in attempts an
    # account and an address may make per window before they are told to wait.
    allow_signup: bool = False
    superuser_mfa_required: bool = False
    session_idle_minutes: int = 120
    session_max_days: int = 7
    login_attempts_per_account: int = 10
    login_attempts_per_address: int = 50
    login_attempt_window_minutes: int = 15
    # Calls one API token may make per minute (a moving window), so a runaway script cannot
    # take the web processes from everyone else.
    api_requests_per_minute: int = 600
    # Days between deleting a project or a user and the background purge of their data;
    # the deletion can be cancelled until then. 0 purges right away.
    deletion_grace_days: int = 7
    # Git sync to repositories on this machine (a path or file://): off, since a project
    # admin could otherwise read any repository the server can; tests always allow it.
    git_allow_local: bool = False
    # `/metrics` answers only to this token (bearer header or ?token=); unset, it is off.
    metrics_token: str | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        """True when FERRY_ENV=production: development defaults are refused."""
        return self.env == "production"

    @property
    def max_payload_kb(self) -> int:
        """The largest payload a project may accept, in KB: FERRY_MAX_DATACLIP_MB."""
        return self.max_dataclip_mb * 1024

    @property
    def uses_default_redis(self) -> bool:
        """True when REDIS_URL was not set, so `ferry run` may embed a Redis of its own."""
        return bool(self.extra.get("redis_url_defaulted"))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read and validate every setting from `environ` (default: the process environment)."""
        environ = os.environ if environ is None else environ
        env = environ.get("FERRY_ENV", "development").strip().lower() or "development"
        if env not in {"development", "production", "test"}:
            raise ConfigError(f"FERRY_ENV must be development, production or test, not {env!r}.")
        settings = cls(
            env=env,
            database_url=normalise_database_url(
                environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
            ),
            redis_url=_redis_url(environ.get("REDIS_URL") or DEFAULT_REDIS_URL),
            secret_key=environ.get("SECRET_KEY") or DEV_SECRET_KEY,
            encryption_keys=_key_ring(environ.get("FERRY_ENCRYPTION_KEYS") or DEV_ENCRYPTION_KEY),
            mail_url=environ.get("MAIL_URL") or None,
            base_url=(environ.get("BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
            api_url=(environ.get("FERRY_API_URL") or "").strip().rstrip("/"),
            collections_max_value_kb=_positive_int(
                environ, "FERRY_COLLECTIONS_MAX_VALUE_KB", cls.collections_max_value_kb
            ),
            max_dataclip_mb=_positive_int(environ, "FERRY_MAX_DATACLIP_MB", 10),
            run_timeout_s=_positive_int(environ, "FERRY_RUN_TIMEOUT_S", 300),
            **_project_limit_maxima(environ),
            webhook_reply_timeout_s=_positive_int(environ, "FERRY_WEBHOOK_REPLY_TIMEOUT_S", 30),
            webhook_requests_per_minute=(
                _positive_int(environ, "FERRY_WEBHOOK_REQUESTS_PER_MINUTE", 0) or None
            ),
            heartbeat_s=_positive_int(environ, "FERRY_HEARTBEAT_S", 5),
            lost_after_s=_positive_int(environ, "FERRY_LOST_AFTER_S", cls.lost_after_s),
            priority_slots=_priority_slots(environ, cls.priority_slots),
            sse_max_streams=_sse_max_streams(environ, cls.sse_max_streams),
            allow_signup=_flag(environ, "FERRY_ALLOW_SIGNUP"),
            git_allow_local=_flag(environ, "FERRY_GIT_ALLOW_LOCAL"),
            metrics_token=_metrics_token(environ),
            superuser_mfa_required=_choice(
                environ, "FERRY_SUPERUSER_MFA", ("optional", "required"), "optional"
            )
            == "required",
            session_idle_minutes=_positive_int(environ, "FERRY_SESSION_IDLE_MINUTES", 120),
            session_max_days=_positive_int(environ, "FERRY_SESSION_MAX_DAYS", 7),
            login_attempts_per_account=_positive_int(
                environ, "FERRY_LOGIN_ATTEMPTS_PER_ACCOUNT", cls.login_attempts_per_account
            ),
            login_attempts_per_address=_positive_int(
                environ, "FERRY_LOGIN_ATTEMPTS_PER_ADDRESS", cls.login_attempts_per_address
            ),
            login_attempt_window_minutes=_positive_int(
                environ, "FERRY_LOGIN_ATTEMPT_WINDOW_MINUTES", cls.login_attempt_window_minutes
            ),
            api_requests_per_minute=_positive_int(
                environ, "FERRY_API_REQUESTS_PER_MINUTE", cls.api_requests_per_minute
            ),
            retention_purge_every_s=_positive_int(
                environ, "FERRY_RETENTION_PURGE_EVERY_S", cls.retention_purge_every_s
            ),
            deletion_grace_days=_deletion_grace_days(environ, cls.deletion_grace_days),
            extra={"redis_url_defaulted": not environ.get("REDIS_URL")},
        )
        if settings.lost_after_s < 3 * settings.heartbeat_s:
            raise ConfigError(
                f"FERRY_LOST_AFTER_S ({settings.lost_after_s}) must be at least three times "
                f"FERRY_HEARTBEAT_S ({settings.heartbeat_s}): a live worker's runs would be "
                "marked lost after a missed heartbeat or two."
            )
        if settings.is_production:
            settings.refuse_development_defaults()
        return settings

    def refuse_development_defaults(self) -> None:
        """Raise ConfigError naming the first secret that still has its published default."""
        if self.secret_key == DEV_SECRET_KEY:
            raise ConfigError(
                "SECRET_KEY is not set: production mode needs a long random value "
                "(for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')."
            )
        if len(self.secret_key) < 32:
            raise ConfigError("SECRET_KEY is too short: use at least 32 random characters.")
        if DEV_ENCRYPTION_KEY in self.encryption_keys:
            raise ConfigError(
                "FERRY_ENCRYPTION_KEYS is not set: production mode needs its own key "
                "(generate one with: ferry generate-key)."
            )

    def flask_config(self) -> dict[str, object]:
        """The Flask/extension configuration derived from these settings."""
        # Idle connections are pinged before use (see app.db_ping), not every checkout.
        engine_options: dict[str, object] = {}
        if self.database_url.startswith("sqlite"):
            # The demo's web server and worker share one file; wait for locks, don't fail.
            engine_options = {"connect_args": {"timeout": 30}}
        return {
            "FERRY_SETTINGS": self,
            "SECRET_KEY": self.secret_key,
            "SQLALCHEMY_DATABASE_URI": self.database_url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
            "SQLALCHEMY_RECORD_QUERIES": False,
            "REDIS_URL": self.redis_url,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": self.base_url.startswith("https://"),
            "REMEMBER_COOKIE_HTTPONLY": True,
            "REMEMBER_COOKIE_SAMESITE": "Lax",
            "REMEMBER_COOKIE_SECURE": self.base_url.startswith("https://"),
            # "Keep me signed in" lasts no longer than a session may (the absolute lifetime).
            "REMEMBER_COOKIE_DURATION": timedelta(days=self.session_max_days),
            "WTF_CSRF_TIME_LIMIT": None,
            "MAX_CONTENT_LENGTH": self.max_dataclip_mb * 1024 * 1024,
            "FERRY_SSE_MAX_STREAMS": self.sse_max_streams,
        }


def normalise_database_url(raw: str) -> str:
    """Validate DATABASE_URL and point plain `postgresql://` URLs at the psycopg 3 driver."""
    raw = raw.strip()
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError):
        raise ConfigError(
            f"DATABASE_URL is malformed ({_redact(raw)!r}): expected "
            "postgresql://USER:PASSWORD@HOST:PORT/NAME or sqlite:///PATH."
        ) from None
    backend = url.get_backend_name()
    if backend in {"postgres", "postgresql"}:
        if url.drivername in {"postgres", "postgresql"}:
            url = url.set(drivername="postgresql+psycopg")
        if not url.database:
            raise ConfigError("DATABASE_URL names no database: add /NAME at the end.")
        return url.render_as_string(hide_password=False)
    if backend == "sqlite":
        return raw
    raise ConfigError(
        f"DATABASE_URL uses {backend!r}: Ferry supports postgresql:// (production) "
        "and sqlite:/// (demo only)."
    )


def _redis_url(raw: str) -> str:
    raw = raw.strip()
    parts = urlsplit(raw)
    if parts.scheme not in {"redis", "rediss", "unix"}:
        raise ConfigError(
            f"REDIS_URL is malformed ({_redact(raw)!r}): expected redis://HOST:PORT/DB "
            "or unix:///path/redis.socket."
        )
    if parts.scheme != "unix" and not parts.hostname:
        raise ConfigError("REDIS_URL names no host: expected redis://HOST:PORT/DB.")
    try:
        parts.port  # noqa: B018 -- raises ValueError on a non-numeric port
    except ValueError:
        raise ConfigError("REDIS_URL has a port that is not a number.") from None
    return raw


def _key_ring(raw: str) -> tuple[str, ...]:
    from cryptography.fernet import Fernet

    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    if not keys:
        raise ConfigError("FERRY_ENCRYPTION_KEYS is empty: give at least one key.")
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            raise ConfigError(
                f"FERRY_ENCRYPTION_KEYS key #{position} is not a valid key: each key is 32 "
                "bytes in URL-safe base64 (generate one with: ferry generate-key)."
            ) from None
    return keys


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}.") from None
    if value <= 0:
        raise ConfigError(f"{name} must be greater than zero, not {value}.")
    return value


def _flag(environ: Mapping[str, str], name: str) -> bool:
    raw = (environ.get(name) or "").strip().lower()
    if raw in {"", "0", "false", "no", "off"}:
        return False
    if raw in {"1", "true", "yes", "on"}:
        return True
    raise ConfigError(f"{name} must be true or false, not {raw!r}.")


def _metrics_token(environ: Mapping[str, str]) -> str | None:
    token = (environ.get("FERRY_METRICS_TOKEN") or "").strip() or None
    if token is not None and len(token) < 16:
        raise ConfigError(
            "FERRY_METRICS_TOKEN is too short: use at least 16 random characters (for "
            "example: python -c 'import secrets; print(secrets.token_urlsafe(32))')."
        )
    return token


def _choice(environ: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    raw = (environ.get(name) or "").strip().lower() or default
    if raw not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, not {raw!r}.")
    return raw


def _project_limit_maxima(environ: Mapping[str, str]) -> dict[str, int]:
    """The instance default and maximum of the limits a project may set: each maximum
    defaults to at least its default, and a maximum set below its default is refused."""
    run_default = _positive_int(environ, "FERRY_RUN_TIMEOUT_S", Settings.run_timeout_s)
    memory_default = _positive_int(environ, "FERRY_STEP_MEMORY_MB", Settings.step_memory_mb)
    run_max = _maximum(
        environ,
        "FERRY_MAX_RUN_TIMEOUT_S",
        Settings.max_run_timeout_s,
        "FERRY_RUN_TIMEOUT_S",
        run_default,
    )
    memory_max = _maximum(
        environ,
        "FERRY_MAX_STEP_MEMORY_MB",
        Settings.max_step_memory_mb,
        "FERRY_STEP_MEMORY_MB",
        memory_default,
    )
    return {
        "max_run_timeout_s": run_max,
        "step_memory_mb": memory_default,
        "max_step_memory_mb": memory_max,
    }


def _maximum(
    environ: Mapping[str, str], name: str, fallback: int, default_name: str, default: int
) -> int:
    value = _positive_int(environ, name, max(fallback, default))
    if value < default:
        raise ConfigError(
            f"{name} ({value}) is below {default_name} ({default}): the most a project may "
            "set must be at least the default."
        )
    return value


def _priority_slots(environ: Mapping[str, str], default: int) -> int:
    # 0 is allowed: every worker process then takes both lanes (priority first).
    if (environ.get("FERRY_PRIORITY_SLOTS") or "").strip() == "0":
        return 0
    return _positive_int(environ, "FERRY_PRIORITY_SLOTS", default)


def _sse_max_streams(environ: Mapping[str, str], default: int) -> int:
    # 0 is allowed: every live page then polls (e.g. behind a proxy that buffers streams).
    if (environ.get("FERRY_SSE_MAX_STREAMS") or "").strip() == "0":
        return 0
    return _positive_int(environ, "FERRY_SSE_MAX_STREAMS", default)


def _deletion_grace_days(environ: Mapping[str, str], default: int) -> int:
    # 0 is allowed: deletions are then purged at once, without a chance to cancel. Ten
    # years at most, so that the purge date is always a date Python can hold.
    raw = (environ.get("FERRY_DELETION_GRACE_DAYS") or "").strip()
    if raw == "0":
        return 0
    if raw.startswith("-"):
        raise ConfigError(
            f"FERRY_DELETION_GRACE_DAYS must be 0 (purge at once) or a number of days, not {raw}."
        )
    days = _positive_int(environ, "FERRY_DELETION_GRACE_DAYS", default)
    if days > 3650:
        raise ConfigError(
            f"FERRY_DELETION_GRACE_DAYS must be at most 3650 (ten years), not {days}."
        )
    return days


def _redact(url: str) -> str:
    """Hide a password in a URL before it goes into an error message."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
