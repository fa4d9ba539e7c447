"""Storing an accepted webhook request: its dataclip, work order and first run.

This is the hottest path in Ferry, so it uses no ORM objects: on PostgreSQL one INSERT with
CTEs writes the dataclip, the work order and its first run together, straight to psycopg in
autocommit (`app.db_direct`), checking in the same statement that the trigger is still as
this process found it (`webhook_targets.TARGET_CHECK`). With the trigger kept in memory,
that is one round trip in all. The response is sent only after the insert is durable.

Input Ferry cannot store is refused with a 400 that names what to fix, never a 503 (which
senders retry for ever): the cheap checks run first (`webhook_input`); rarer refusals (a
\u0000 or a lone surrogate in JSON) are left to PostgreSQL and named from its error
(`db_direct.UnstorableValue`), so that the common request pays for no walk over its body.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass

from psycopg.types.json import Jsonb
from sqlalchemy import Uuid
from sqlalchemy.exc import IntegrityError

from app import db_direct
from app.extensions import db
from app.json_text import JsonText
from app.services import zero_persistence
from app.services.triggers import webhook_signature
from app.services.triggers.webhook_input import TOO_DEEP, WebhookRefused
from app.services.triggers.webhook_targets import (
    TARGET_CHECK,
    StaleTarget,
    WebhookTarget,
    lane_of,
    uuid_of,
)
from app.services.zero_persistence import inputs as zp_inputs
from app.services.zero_persistence import transient


@dataclass(frozen=True)
class Accepted:
    """The work order and run created (or found again, for a repeated idempotency key)."""

    work_order_id: uuid.UUID
    run_id: uuid.UUID | None
    created: bool


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
    dataclip_id, not_stored = uuid.uuid4(), target.zero_persistence
    if not_stored:
        # The body goes to Redis for its run, the row keeps metadata only (zero persistence).
        data = zp_inputs.body_text(body, raw_body, _ENCODER.encode)
        try:
            zp_inputs.keep_request(dataclip_id, data, metadata)
        except transient.Unavailable:
            raise WebhookRefused(503, zero_persistence.REDIS_DOWN) from None
        body_json, raw_body = None, None
        metadata = zp_inputs.request_metadata(metadata, len(data))
    params = {
        "dataclip_id": dataclip_id,
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
        "not_stored": not_stored,
    }
    accepted = None
    try:
        accepted = _insert(params)
    except db_direct.UnstorableValue as error:
        raise WebhookRefused(400, _unstorable(error, params, metadata)) from None
    finally:
        if not_stored and (accepted is None or not accepted.created):
            transient.forget([dataclip_id])  # nothing of this request will run
    return accepted


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
  request, not_stored, inserted_at) {open}:dataclip_id, :project_id, 'http_request', {body},
  :raw_body, :content_type, {request}, :not_stored, CURRENT_TIMESTAMP{close}"""
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
    f"WITH {TARGET_CHECK}, dataclip AS ({_DATACLIP.format(**_GUARDED)}),"
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
_EXISTING_GUARDED = f"WITH {TARGET_CHECK} " + _EXISTING.format(  # noqa: S608
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
    return Accepted(uuid_of(row[0]), uuid_of(row[1]) if row[1] else None, created=False)


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
