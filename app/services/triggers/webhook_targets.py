"""The webhook trigger a request is addressed to (`/i/<id or custom path>`), kept in each
process's memory once found, and the checks of who may send to it.

A kept target is safe because the statements that store a request check its fingerprint
(`TARGET_CHECK`): an md5 of every column read here, the workflow's latest snapshot and the
project's payload limit. A trigger changed since (disabled, a new secret, a new version, a
deleted workflow) shows as a mismatch: nothing is stored and the caller reads it again
(`StaleTarget`). Refusals are only given on a fresh read (`webhook_request`).
"""

from __future__ import annotations

import functools
import hmac
import uuid
from base64 import b64decode
from dataclasses import dataclass

from sqlalchemy import Uuid

from app import db_direct
from app.services.encryption import decrypt_text
from app.services.triggers import webhook_signature
from app.services.triggers.webhook_input import MAX_CUSTOM_PATH, WebhookRefused
from app.services.triggers.webhook_signature import SignatureRule

_NOT_FOUND = "No webhook trigger exists at this address."


@dataclass(frozen=True)
class WebhookTarget:
    """What accepting a request needs to know about its trigger."""

    trigger_id: uuid.UUID
    workflow_id: uuid.UUID
    project_id: uuid.UUID
    snapshot_id: uuid.UUID | None
    enabled: bool
    auth: str
    username: str | None
    secret_encrypted: bytes | None
    reply: str
    # None unless callers must sign (most triggers): then verification is skipped entirely.
    signature: SignatureRule | None = None
    # The project's largest accepted payload (None: the instance's; app.services.project_limits).
    max_payload_kb: int | None = None
    # What the stored trigger looked like when this was read (PostgreSQL; see `TARGET_CHECK`).
    fingerprint: str | None = None
    # The project keeps no bodies (app.services.zero_persistence); in the fingerprint, so a
    # request is never stored under the project's old setting.
    zero_persistence: bool = False
    # The trigger's own rate limit (None: the instance's FERRY_WEBHOOK_REQUESTS_PER_MINUTE).
    requests_per_minute: int | None = None


# What accepting needs of a trigger, its workflow's latest snapshot and its project's limit
# and zero persistence (read in the same statement: no round trip more).
_COLUMNS = """t.id, w.id, w.project_id,
       (SELECT s.id FROM workflow_snapshots s WHERE s.workflow_id = w.id
        ORDER BY s.lock_version DESC LIMIT 1),
       t.enabled, t.webhook_auth, t.webhook_username, t.webhook_secret_encrypted,
       t.webhook_reply, t.webhook_signature_algorithm, t.webhook_signature_header,
       t.webhook_signature_secret_encrypted, t.webhook_timestamp_header,
       t.webhook_replay_window_s,
       (SELECT p.max_payload_kb FROM projects p WHERE p.id = w.project_id),
       (SELECT p.zero_persistence FROM projects p WHERE p.id = w.project_id),
       t.webhook_requests_per_minute"""
_WHERE = "t.type = 'webhook' AND w.deleted_at IS NULL"
# (S608 / bandit B608: these statements are built from this module's constants only.)
_FIND = (
    f"SELECT {_COLUMNS} {{fingerprint}}"  # noqa: S608  # nosec B608
    " FROM triggers t JOIN workflows w ON w.id = t.workflow_id"
    f" WHERE {{condition}} AND {_WHERE}"
)
# On PostgreSQL a target also carries a fingerprint of those columns, and the statements that
# store a request check it (`TARGET_CHECK`): a process may then keep targets in memory and still
# never accept a request under a trigger's old settings, since a change shows as a mismatch.
_FINGERPRINT = f"md5(row({_COLUMNS})::text)"
TARGET_CHECK = (
    "target AS (SELECT 1 FROM triggers t"  # noqa: S608  # nosec B608
    " JOIN workflows w ON w.id = t.workflow_id"
    f" WHERE t.id = :trigger_id AND {_WHERE} AND {_FINGERPRINT} = :fingerprint)"
)
# Targets found by this process, by reference. Bounded: emptied when full (a few thousand
# triggers fit; a scan of made-up references never enters, since only found ones are kept).
_CACHE: dict[str, WebhookTarget] = {}
_CACHE_SIZE = 4096


class StaleTarget(Exception):
    """The trigger (or its workflow, latest snapshot or project limit) changed since its target
    was cached: nothing was stored; find it again, check again and store again."""


def find_target(reference: str, *, cached: bool = False) -> WebhookTarget:
    """The webhook trigger addressed by `/i/<reference>` (its id or custom path). With
    `cached`, from this process's memory when it was found before: only for statements that
    check the fingerprint (PostgreSQL; see `TARGET_CHECK`)."""
    kept = _CACHE.get(reference) if cached else None
    if kept is not None:
        return kept
    try:
        trigger_id = uuid.UUID(reference)
        condition, params = "t.id = :ref_id", {"ref_id": trigger_id}
    except ValueError:
        if len(reference) > MAX_CUSTOM_PATH or "\x00" in reference:
            raise WebhookRefused(404, _NOT_FOUND) from None  # no trigger can have this path
        condition, params = "t.custom_path = :path", {"path": reference}
    guarded = db_direct.on_postgresql()
    sql = _FIND.format(condition=condition, fingerprint=f", {_FINGERPRINT}" if guarded else "")
    try:
        row = db_direct.execute(sql, params, {"ref_id": Uuid()})
    except db_direct.UnstorableValue:
        row = None  # a path PostgreSQL cannot even compare names no trigger
    if row is None:
        _CACHE.pop(reference, None)
        raise WebhookRefused(404, _NOT_FOUND)
    target = WebhookTarget(
        trigger_id=uuid_of(row[0]),
        workflow_id=uuid_of(row[1]),
        project_id=uuid_of(row[2]),
        snapshot_id=uuid_of(row[3]) if row[3] else None,
        enabled=bool(row[4]),
        auth=row[5],
        username=row[6],
        secret_encrypted=row[7],
        reply=row[8],
        signature=webhook_signature.rule_from_row(*row[9:14]),
        max_payload_kb=row[14],
        zero_persistence=bool(row[15]),
        requests_per_minute=row[16],
        fingerprint=row[17] if guarded else None,
    )
    if guarded:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        _CACHE[reference] = target
    return target


def check_access(target: WebhookTarget, headers: dict[str, str]) -> None:
    """Refuse a disabled trigger (403), missing auth (401) and wrong auth (404, so that a
    guesser cannot tell the trigger exists)."""
    if not target.enabled:
        raise WebhookRefused(403, "This webhook trigger is disabled; enable it in the workflow.")
    if target.auth == "none":
        return
    secret = _decrypted(target.secret_encrypted) if target.secret_encrypted else ""
    if target.auth == "api_key":
        given = headers.get("x-api-key")
        if not given:
            raise WebhookRefused(401, "This webhook needs an API key in the x-api-key header.")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            raise WebhookRefused(404, _NOT_FOUND)
        return
    given_user, given_password = _basic_credentials(headers.get("authorization", ""))
    if given_user is None:
        raise WebhookRefused(401, "This webhook needs HTTP Basic authentication.")
    user_ok = hmac.compare_digest(given_user.encode(), (target.username or "").encode())
    password_ok = hmac.compare_digest(given_password.encode(), secret.encode())
    if not (user_ok and password_ok):
        raise WebhookRefused(404, _NOT_FOUND)


@functools.lru_cache(maxsize=1024)
def _decrypted(secret_encrypted: bytes) -> str:
    """A trigger's secret in clear, kept per process: decrypting costs more than the rest of
    the check, and a changed secret is a different ciphertext (so never a stale entry)."""
    return decrypt_text(secret_encrypted)


def lane_of(target: WebhookTarget) -> int:
    """The run's priority: 0 (priority lane) when the caller waits for the run's result
    (`after_completion`), else 1 (batch lane, with cron runs and bulk reruns)."""
    return 0 if target.reply == "after_completion" else 1


def _basic_credentials(header: str) -> tuple[str | None, str]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None, ""
    try:
        user, _, password = b64decode(encoded, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None, ""
    return user, password


def uuid_of(value: object) -> uuid.UUID:
    """A UUID from what the database returned (a UUID on PostgreSQL, text on SQLite)."""
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
