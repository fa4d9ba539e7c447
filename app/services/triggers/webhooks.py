"""Accepting webhook requests: find the trigger, check its auth, persist, then queue.

This is the hottest path in Ferry, so it uses two SQL statements and no ORM objects: one
SELECT for the trigger and, on PostgreSQL, one INSERT with CTEs writing the dataclip, the
work order and its first run together. On PostgreSQL both go straight to psycopg in
autocommit (`app.db_direct`): two round trips in all. The response is sent only after the
insert is durable.

Input Ferry cannot store is refused with a 400 that names what to fix, never a 503 (which
senders retry for ever): the cheap checks run first (`webhook_input`); rarer refusals (a
\u0000 or a lone surrogate in JSON) are left to PostgreSQL and named from its error
(`db_direct.UnstorableValue`), so that the common request pays for no walk over its body.

Long because the statements, the per-process trigger cache and the wording of each refusal
are read together: every one of them is part of the one accept.
"""

from __future__ import annotations

import functools
import hmac
import json
import re
import uuid
from base64 import b64decode
from dataclasses import dataclass

from psycopg.types.json import Jsonb
from sqlalchemy import Uuid
from sqlalchemy.exc import IntegrityError

from app import db_direct
from app.extensions import db
from app.json_text import JsonText
from app.services.encryption import decrypt_text
from app.services.triggers import webhook_signature
from app.services.triggers.webhook_input import MAX_CUSTOM_PATH, TOO_DEEP, WebhookRefused
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
    # What the stored trigger looked like when this was read (PostgreSQL; see `_TARGET`).
    fingerprint: str | None = None


@dataclass(frozen=True)
class Accepted:
    """The work order and run created (or found again, for a repeated idempotency key)."""

    work_order_id: uuid.UUID
    run_id: uuid.UUID | None
    created: bool


# What accepting needs of a trigger, its workflow's latest snapshot and its project's limit.
_COLUMNS = """t.id, w.id, w.project_id,
       (SELECT s.id FROM workflow_snapshots s WHERE s.workflow_id = w.id
        ORDER BY s.lock_version DESC LIMIT 1),
       t.enabled, t.webhook_auth, t.webhook_username, t.webhook_secret_encrypted,
       t.webhook_reply, t.webhook_signature_algorithm, t.webhook_signature_header,
       t.webhook_signature_secret_encrypted, t.webhook_timestamp_header,
       t.webhook_replay_window_s,
       (SELECT p.max_payload_kb FROM projects p WHERE p.id = w.project_id)"""
_WHERE = "t.type = 'webhook' AND w.deleted_at IS NULL"
# (S608: these statements are built from this module's constants only.)
_FIND = (
    f"SELECT {_COLUMNS} {{fingerprint}}"  # noqa: S608
    " FROM triggers t JOIN workflows w ON w.id = t.workflow_id"
    f" WHERE {{condition}} AND {_WHERE}"
)
# On PostgreSQL a target also carries a fingerprint of those columns, and the statements that
# store a request check it (`_TARGET`): a process may then keep targets in memory and still
# never accept a request under a trigger's old settings, since a change shows as a mismatch.
_FINGERPRINT = f"md5(row({_COLUMNS})::text)"
_TARGET = (
    "target AS (SELECT 1 FROM triggers t JOIN workflows w ON w.id = t.workflow_id"  # noqa: S608
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
    check the fingerprint (PostgreSQL; see `_TARGET`)."""
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
        row = db_direct.execute(sql, params, _TYPES)
    except db_direct.UnstorableValue:
        row = None  # a path PostgreSQL cannot even compare names no trigger
    if row is None:
        _CACHE.pop(reference, None)
        raise WebhookRefused(404, _NOT_FOUND)
    target = WebhookTarget(
        trigger_id=_uuid(row[0]),
        workflow_id=_uuid(row[1]),
        project_id=_uuid(row[2]),
        snapshot_id=_uuid(row[3]) if row[3] else None,
        enabled=bool(row[4]),
        auth=row[5],
        username=row[6],
        secret_encrypted=row[7],
        reply=row[8],
        signature=webhook_signature.rule_from_row(*row[9:14]),
        max_payload_kb=row[14],
        fingerprint=row[15] if guarded else None,
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


def accept(
    target: WebhookTarget,
    *,
    body: object | None,
    raw_body: str | None,
    content_type: str | None,
    metadata: dict,
    idempotency_key: str | None = None,
    signature_digest: str | None = None,
) -> Accepted:
    """Persist the dataclip, work order and first run in one transaction and commit.
    Refuses (400) values PostgreSQL cannot store, naming the part of the request. A
    `signature_digest` (signed triggers) is remembered in the same transaction; one seen
    before is refused (401) and nothing is stored."""
    if target.snapshot_id is None:
        raise WebhookRefused(409, "The workflow has never been saved, so it cannot run yet.")
    try:
        body_json = _stored_json(body)
    except ValueError:
        raise WebhookRefused(
            400, "The body holds a number too large to store (such as 1e999)."
        ) from None
    except RecursionError:
        raise WebhookRefused(400, TOO_DEEP) from None
    params = {
        "dataclip_id": uuid.uuid4(),
        "work_order_id": uuid.uuid4(),
        "run_id": uuid.uuid4(),
        "project_id": target.project_id,
        "workflow_id": target.workflow_id,
        "trigger_id": target.trigger_id,
        "snapshot_id": target.snapshot_id,
        "body": body_json,
        "raw_body": raw_body,
        "content_type": content_type,
        "request": json.dumps(metadata),
        "idempotency_key": idempotency_key,
        # A caller waiting for the reply is a person or system on hold: the priority lane.
        "priority": lane_of(target),
        "signature_digest": signature_digest,
        "fingerprint": target.fingerprint,
    }
    try:
        return _insert(params)
    except db_direct.UnstorableValue as error:
        raise WebhookRefused(400, _unstorable(error, params, metadata)) from None


def _insert(params: dict) -> Accepted:
    key, digest = params["idempotency_key"], params["signature_digest"]
    if key:
        existing = _existing(params)
        if existing is not None:
            # The same signature again is a replay even with a known key (a sender retrying
            # signs afresh); the rare lookup costs only signed requests with a repeated key.
            if digest and webhook_signature.was_seen(params["trigger_id"], digest):
                webhook_signature.refuse_replay()
            return existing
    try:
        if params["fingerprint"] is not None:
            stored = db_direct.execute(_INSERT_SIGNED_PG if digest else _INSERT_ALL_PG, params)
            if stored is None:
                raise StaleTarget
        else:
            statements = (_SEEN_PORTABLE, *_INSERTS_PORTABLE) if digest else _INSERTS_PORTABLE
            for statement in statements:
                db_direct.execute(statement, params, _TYPES)
        db_direct.commit_joined()
    except IntegrityError as error:
        db.session.rollback()
        if digest and "webhook_signatures_seen" in str(error.orig):
            webhook_signature.refuse_replay()  # the one statement failed: nothing stored
        existing = _existing(params) if key else None
        if existing is None:
            raise
        return existing  # a concurrent request with the same key won the race
    return Accepted(params["work_order_id"], params["run_id"], created=True)


# Each INSERT takes its row from VALUES on its own, or from a SELECT over the checked target
# in the PostgreSQL statement, which then stores nothing when the target is stale.
# (PostgreSQL types the parameters of INSERT ... SELECT by the columns, as it does VALUES.)
_DATACLIP = """INSERT INTO dataclips (id, project_id, type, body, raw_body, content_type,
  request, inserted_at) {open}:dataclip_id, :project_id, 'http_request', {body}, :raw_body,
  :content_type, {request}, CURRENT_TIMESTAMP{close}"""
_WORK_ORDER = """INSERT INTO work_orders (id, project_id, workflow_id, trigger_id, snapshot_id,
  dataclip_id, state, idempotency_key, inserted_at, last_activity_at) {open}:work_order_id,
  :project_id, :workflow_id, :trigger_id, :snapshot_id, :dataclip_id, 'pending',
  :idempotency_key, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP{close}"""
_RUN = """INSERT INTO runs (id, work_order_id, project_id, workflow_id, snapshot_id,
  starting_trigger_id, dataclip_id, state, priority, inserted_at) {open}:run_id,
  :work_order_id, :project_id, :workflow_id, :snapshot_id, :trigger_id, :dataclip_id,
  'available', :priority, CURRENT_TIMESTAMP{close}"""
# A signed request also remembers its signature, in the same statement (so in the same
# transaction): a copy of it fails on the primary key and stores nothing.
_SEEN = """INSERT INTO webhook_signatures_seen (trigger_id, signature_digest, seen_at)
  {open}:trigger_id, :signature_digest, CURRENT_TIMESTAMP{close}"""
_VALUES = {"open": "VALUES (", "close": ")", "body": ":body", "request": ":request"}
_GUARDED = {
    "open": "SELECT ",
    "close": " FROM target",
    "body": "CAST(:body AS jsonb)",
    "request": "CAST(:request AS jsonb)",
}
_INSERT_ALL_PG = (
    f"WITH {_TARGET}, dataclip AS ({_DATACLIP.format(**_GUARDED)}),"
    f" work_order AS ({_WORK_ORDER.format(**_GUARDED)}) {_RUN.format(**_GUARDED)} RETURNING 1"
)
_INSERT_SIGNED_PG = _INSERT_ALL_PG.replace(
    "dataclip AS (", f"seen AS ({_SEEN.format(**_GUARDED)}), dataclip AS (", 1
)
_INSERTS_PORTABLE = tuple(
    statement.format(**_VALUES) for statement in (_DATACLIP, _WORK_ORDER, _RUN)
)
_SEEN_PORTABLE = _SEEN.format(**_VALUES)


_EXISTING = """SELECT w.id, (SELECT r.id FROM runs r WHERE r.work_order_id = w.id
  ORDER BY r.inserted_at LIMIT 1) {target_checked}
  FROM work_orders w WHERE w.trigger_id = :trigger_id AND w.idempotency_key = :idempotency_key"""
_EXISTING_GUARDED = f"WITH {_TARGET} " + _EXISTING.format(  # noqa: S608
    target_checked=", EXISTS (SELECT 1 FROM target)"
)
_EXISTING = _EXISTING.format(target_checked="")


def _existing(params: dict) -> Accepted | None:
    """The work order already accepted with this idempotency key, if any. On PostgreSQL the
    target is checked too (StaleTarget), so a cached target cannot answer for a trigger
    that has since been disabled or deleted."""
    guarded = params["fingerprint"] is not None
    row = db_direct.execute(
        _EXISTING_GUARDED if guarded else _EXISTING,
        {
            key: params[key]
            for key in ("trigger_id", "idempotency_key", "fingerprint")
            if guarded or key != "fingerprint"
        },
        _TYPES,
    )
    if row is None:
        return None
    if guarded and not row[2]:
        raise StaleTarget
    return Accepted(_uuid(row[0]), _uuid(row[1]) if row[1] else None, created=False)


# Bound as UUIDs off PostgreSQL (the demo's SQLite); psycopg sends UUIDs as they are.
_UUID_PARAMS = (
    "ref_id dataclip_id work_order_id run_id project_id workflow_id trigger_id snapshot_id trigger"
)
_TYPES = dict.fromkeys(_UUID_PARAMS.split(), Uuid())
# A \u0000 escape in JSON text (not an escaped backslash followed by "u0000").
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def _stored_json(body: object | None) -> str | Jsonb | None:
    """The body's JSON text for the insert. A large body kept as the text it came in
    (`webhook_input`) goes to PostgreSQL as those bytes, not encoded again."""
    if isinstance(body, JsonText):
        return (
            Jsonb(body, dumps=JsonText.joined)
            if db_direct.on_postgresql()
            else body.joined().decode()
        )
    return _ENCODER.encode(body) if body is not None else None


def _unstorable(error: db_direct.UnstorableValue, params: dict, metadata: dict) -> str:
    """Which part of the request held what PostgreSQL refused, in words for the sender."""
    part = "The body" if params["body"] is not None or params["raw_body"] else "The request"
    if "NUL" in error.reason:
        suspects = (
            ("The body", _text(params["body"])),
            ("The query string", json.dumps(metadata.get("query"))),
            ("The headers", json.dumps(metadata.get("headers"))),
            ("The address", json.dumps(metadata.get("path"))),
        )
        part = next((name for name, text in suspects if _NUL_ESCAPE.search(text)), part)
    return f"{part} holds {error.reason}. Nothing was saved: fix it and send the request again."


def _text(body: str | Jsonb | None) -> str:
    if isinstance(body, Jsonb):
        return body.obj.joined().decode("utf-8", "replace")
    return body or ""


# Built once (json.dumps with options builds a new encoder on every call). allow_nan=False:
# 1e999 is parsed as infinity, which jsonb cannot hold.
_ENCODER = json.JSONEncoder(allow_nan=False)


def _basic_credentials(header: str) -> tuple[str | None, str]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None, ""
    try:
        user, _, password = b64decode(encoded, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None, ""
    return user, password


def _uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
