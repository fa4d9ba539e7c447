"""Accepting webhook requests: find the trigger, check its auth, persist, then queue.

This is the hottest path in Ferry, so it uses two SQL statements and no ORM objects: one
SELECT for the trigger and, on PostgreSQL, one INSERT with CTEs writing the dataclip, the
work order and its first run together. On PostgreSQL both go straight to psycopg in
autocommit (`app.db_direct`): two round trips in all. The response is sent only after the
insert is durable.
"""

from __future__ import annotations

import functools
import hmac
import json
import re
import uuid
from base64 import b64decode
from dataclasses import dataclass

from sqlalchemy import Uuid, bindparam, text
from sqlalchemy.exc import IntegrityError

from app import db_direct
from app.extensions import db
from app.services.encryption import decrypt_text

REDACTED_HEADERS = {"authorization", "proxy-authorization", "x-api-key", "cookie"}


class WebhookRefused(Exception):
    """The request cannot be accepted; `status` and `message` go back to the caller."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


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


@dataclass(frozen=True)
class Accepted:
    """The work order and run created (or found again, for a repeated idempotency key)."""

    work_order_id: uuid.UUID
    run_id: uuid.UUID | None
    created: bool


_FIND = """
SELECT t.id, w.id, w.project_id,
       (SELECT s.id FROM workflow_snapshots s WHERE s.workflow_id = w.id
        ORDER BY s.lock_version DESC LIMIT 1),
       t.enabled, t.webhook_auth, t.webhook_username, t.webhook_secret_encrypted,
       t.webhook_reply
FROM triggers t JOIN workflows w ON w.id = t.workflow_id
WHERE {condition} AND t.type = 'webhook' AND w.deleted_at IS NULL
"""


def find_target(reference: str) -> WebhookTarget:
    """The webhook trigger addressed by `/i/<reference>` (its id or custom path)."""
    try:
        trigger_id = uuid.UUID(reference)
        condition, params = "t.id = :ref_id", {"ref_id": trigger_id}
    except ValueError:
        condition, params = "t.custom_path = :path", {"path": reference}
    row = _execute(_FIND.format(condition=condition), params)
    if row is None:
        raise WebhookRefused(404, "No webhook trigger exists at this address.")
    return WebhookTarget(
        trigger_id=_uuid(row[0]),
        workflow_id=_uuid(row[1]),
        project_id=_uuid(row[2]),
        snapshot_id=_uuid(row[3]) if row[3] else None,
        enabled=bool(row[4]),
        auth=row[5],
        username=row[6],
        secret_encrypted=row[7],
        reply=row[8],
    )


def check_access(target: WebhookTarget, headers: dict[str, str]) -> None:
    """Refuse a disabled trigger (403), missing auth (401) and wrong auth (404, so that a
    guesser cannot tell the trigger exists)."""
    if not target.enabled:
        raise WebhookRefused(403, "This webhook trigger is disabled; enable it in the workflow.")
    if target.auth == "none":
        return
    secret = decrypt_text(target.secret_encrypted) if target.secret_encrypted else ""
    if target.auth == "api_key":
        given = headers.get("x-api-key")
        if not given:
            raise WebhookRefused(401, "This webhook needs an API key in the x-api-key header.")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            raise WebhookRefused(404, "No webhook trigger exists at this address.")
        return
    given_user, given_password = _basic_credentials(headers.get("authorization", ""))
    if given_user is None:
        raise WebhookRefused(401, "This webhook needs HTTP Basic authentication.")
    user_ok = hmac.compare_digest(given_user.encode(), (target.username or "").encode())
    password_ok = hmac.compare_digest(given_password.encode(), secret.encode())
    if not (user_ok and password_ok):
        raise WebhookRefused(404, "No webhook trigger exists at this address.")


def request_metadata(method: str, path: str, query: dict, headers: dict[str, str]) -> dict:
    """What is stored about the request beside its body; credentials are redacted."""
    return {
        "method": method,
        "path": path,
        "query": query,
        "headers": {k: ("[REDACTED]" if k in REDACTED_HEADERS else v) for k, v in headers.items()},
    }


def accept(
    target: WebhookTarget,
    *,
    body: object | None,
    raw_body: str | None,
    content_type: str | None,
    metadata: dict,
    idempotency_key: str | None = None,
) -> Accepted:
    """Persist the dataclip, work order and first run in one transaction and commit."""
    if target.snapshot_id is None:
        raise WebhookRefused(409, "The workflow has never been saved, so it cannot run yet.")
    if idempotency_key:
        existing = _existing(target.trigger_id, idempotency_key)
        if existing is not None:
            return existing
    ids = {"dataclip_id": uuid.uuid4(), "work_order_id": uuid.uuid4(), "run_id": uuid.uuid4()}
    params = {
        **ids,
        "project_id": target.project_id,
        "workflow_id": target.workflow_id,
        "trigger_id": target.trigger_id,
        "snapshot_id": target.snapshot_id,
        "body": json.dumps(body) if body is not None else None,
        "raw_body": raw_body,
        "content_type": content_type,
        "request": json.dumps(metadata),
        "idempotency_key": idempotency_key,
    }
    try:
        if _on_postgresql():
            _execute(_INSERT_ALL_PG, params)
        else:
            for statement in _INSERTS_PORTABLE:
                _execute(statement, params)
        db_direct.commit_joined()
    except IntegrityError:
        db.session.rollback()
        existing = _existing(target.trigger_id, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return existing  # a concurrent request with the same key won the race
    return Accepted(ids["work_order_id"], ids["run_id"], created=True)


_DATACLIP = """INSERT INTO dataclips (id, project_id, type, body, raw_body, content_type,
  request, inserted_at) VALUES (:dataclip_id, :project_id, 'http_request', {body}, :raw_body,
  :content_type, {request}, CURRENT_TIMESTAMP)"""
_WORK_ORDER = """INSERT INTO work_orders (id, project_id, workflow_id, trigger_id, snapshot_id,
  dataclip_id, state, idempotency_key, inserted_at, last_activity_at) VALUES (:work_order_id,
  :project_id, :workflow_id, :trigger_id, :snapshot_id, :dataclip_id, 'pending',
  :idempotency_key, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"""
_RUN = """INSERT INTO runs (id, work_order_id, project_id, workflow_id, snapshot_id,
  starting_trigger_id, dataclip_id, state, priority, inserted_at) VALUES (:run_id,
  :work_order_id, :project_id, :workflow_id, :snapshot_id, :trigger_id, :dataclip_id,
  'available', 1, CURRENT_TIMESTAMP)"""
_INSERT_ALL_PG = (
    "WITH dataclip AS ("
    + _DATACLIP.format(body="CAST(:body AS jsonb)", request="CAST(:request AS jsonb)")
    + "), work_order AS ("
    + _WORK_ORDER
    + ") "
    + _RUN
)
_INSERTS_PORTABLE = (_DATACLIP.format(body=":body", request=":request"), _WORK_ORDER, _RUN)


def _existing(trigger_id: uuid.UUID, key: str) -> Accepted | None:
    row = _execute(
        """SELECT w.id, (SELECT r.id FROM runs r WHERE r.work_order_id = w.id
           ORDER BY r.inserted_at LIMIT 1)
           FROM work_orders w WHERE w.trigger_id = :trigger AND w.idempotency_key = :key""",
        {"trigger": trigger_id, "key": key},
    )
    if row is None:
        return None
    return Accepted(_uuid(row[0]), _uuid(row[1]) if row[1] else None, created=False)


_UUID_PARAMS = (
    "ref_id",
    "dataclip_id",
    "work_order_id",
    "run_id",
    "project_id",
    "workflow_id",
    "trigger_id",
    "snapshot_id",
    "trigger",
)


def _on_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


def _execute(sql: str, params: dict) -> tuple | None:
    """Run `sql` (`:name` parameters) and return its first row, if any: straight to psycopg
    in autocommit on PostgreSQL (`app.db_direct`), through the session elsewhere."""
    if _on_postgresql():
        return db_direct.execute(sql, params)
    result = db.session.execute(_typed(sql), params)
    return result.first() if result.returns_rows else None


@functools.cache
def _typed(sql: str):
    """A text statement whose id parameters are bound as UUIDs on every database."""
    names = set(re.findall(r"(?<!:):(\w+)", sql)) & set(_UUID_PARAMS)
    return text(sql).bindparams(*(bindparam(n, type_=Uuid()) for n in sorted(names)))


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
