"""Signed webhooks: a trigger that requires an HMAC signature accepts a correctly signed
request once, and refuses (401, saying what was wrong, storing nothing) every other."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.models import Dataclip, Trigger, WebhookAuth, WebhookSignatureSeen, WorkOrder
from app.models.base import utcnow
from app.services.triggers import webhook_auth, webhook_signature, webhook_signature_settings
from tests import factories

SECRET = "s3cret-shared-with-the-sender"
BODY = json.dumps({"resourceType": "Patient", "id": "123"}).encode()


def signed_workflow(extra: str) -> str:
    """The factories' simple workflow, its webhook trigger carrying `extra` settings."""
    return factories.SIMPLE_WORKFLOW.format(name="Signed workflow").replace(
        "    enabled: true\n", "    enabled: true\n" + extra, 1
    )


SHA256 = "    webhook_signature_algorithm: sha256\n    webhook_signature_header: X-Signature\n"
TIMED = SHA256 + "    webhook_timestamp_header: X-Timestamp\n    webhook_replay_window_s: 300\n"
SHA1 = "    webhook_signature_algorithm: sha1\n    webhook_signature_header: X-Hub-Signature\n"


def make_trigger(user, extra: str, secret: str | None = SECRET) -> Trigger:
    project = factories.project(user)
    trigger = factories.workflow(project, signed_workflow(extra)).triggers[0]
    if secret:
        webhook_signature_settings.set_secret(trigger.id, secret)
    return trigger


def mac(message: bytes, secret: str = SECRET, algorithm=hashlib.sha256) -> bytes:
    return hmac.new(secret.encode(), message, algorithm).digest()


def stored(db) -> tuple[int, int]:
    """(dataclips, work orders): a refused request adds to neither."""
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Dataclip, WorkOrder)
    )


def post(client, trigger, headers, body=BODY):
    return client.post(
        f"/i/{trigger.id}", data=body, content_type="application/json", headers=headers
    )


def refused(response, db, *words: str) -> None:
    """A 401 whose JSON error holds `words`, with nothing stored."""
    assert response.status_code == 401, response.get_data(as_text=True)
    error = response.get_json()["error"]
    for word in words:
        assert word in error
    assert "Nothing was saved" in error
    assert stored(db) == (0, 0)


@pytest.fixture
def signed(user, db):
    return make_trigger(user, SHA256)


@pytest.fixture
def timed(user, db):
    return make_trigger(user, TIMED)


# --- the Done-when suite ---------------------------------------------------------------------


def test_a_valid_signature_is_accepted_and_remembered(client, signed, db):
    response = post(client, signed, {"X-Signature": mac(BODY).hex()})
    assert response.status_code == 200
    assert stored(db) == (1, 1)
    work_order = db.session.get(WorkOrder, response.get_json()["work_order_id"])
    clip = db.session.get(Dataclip, work_order.dataclip_id)
    assert clip.body == {"resourceType": "Patient", "id": "123"}
    assert clip.request["headers"]["x-signature"] == "[REDACTED]"
    assert db.session.scalar(select(func.count()).select_from(WebhookSignatureSeen)) == 1


def test_a_wrong_secret_is_refused(client, signed, db):
    response = post(client, signed, {"X-Signature": mac(BODY, "another-secret-entirely").hex()})
    refused(response, db, "does not match", "x-signature")
    assert mac(BODY).hex() not in response.get_data(as_text=True)  # never the expected one


def test_a_stale_timestamp_is_refused(client, timed, db):
    stamp = str(int(time.time()) - 301)
    response = post(
        client, timed, {"X-Timestamp": stamp, "X-Signature": mac(f"{stamp}.".encode() + BODY).hex()}
    )
    refused(response, db, "x-timestamp", "seconds away", "at most 300")


def test_a_replayed_request_is_refused(client, timed, db):
    stamp = str(int(time.time()))
    headers = {"X-Timestamp": stamp, "X-Signature": mac(f"{stamp}.".encode() + BODY).hex()}
    assert post(client, timed, headers).status_code == 200
    again = post(client, timed, headers)
    assert again.status_code == 401
    assert "already received" in again.get_json()["error"]
    assert stored(db) == (1, 1)


def test_a_missing_signature_header_is_refused(client, signed, db):
    refused(post(client, signed, {}), db, "HMAC-SHA256", "x-signature", "has none")


# --- encodings, algorithms and malformed values ---------------------------------------------


def test_sha1_with_its_prefix_is_accepted(client, user, db):
    trigger = make_trigger(user, SHA1)
    digest = mac(BODY, algorithm=hashlib.sha1).hex()
    assert post(client, trigger, {"X-Hub-Signature": f"sha1={digest}"}).status_code == 200


def test_sha256_prefix_and_upper_case_hex_are_accepted(client, signed, db):
    assert post(client, signed, {"X-Signature": "sha256=" + mac(BODY).hex()}).status_code == 200
    other = b'{"n": 2}'
    assert post(client, signed, {"X-Signature": mac(other).hex().upper()}, other).status_code == 200


@pytest.mark.parametrize("encode", [base64.b64encode, base64.urlsafe_b64encode])
def test_base64_signatures_are_accepted(client, signed, db, encode):
    value = encode(mac(BODY)).decode().rstrip("=")  # padding is optional
    assert post(client, signed, {"X-Signature": value}).status_code == 200


@pytest.mark.parametrize(
    "value",
    ["not-a-signature", "abc123", "sha256=zz", "sha256=" + "ab" * 20, "x" * 500],
    ids=["words", "short-hex", "bad-hex", "sha1-length", "overlong"],
)
def test_a_malformed_signature_is_refused(client, signed, db, value):
    refused(post(client, signed, {"X-Signature": value}), db, "not an HMAC-SHA256 signature")


def test_the_other_algorithms_prefix_is_refused(client, signed, db):
    value = "sha1=" + mac(BODY, algorithm=hashlib.sha1).hex()
    refused(post(client, signed, {"X-Signature": value}), db, "sha1 signature", "expects sha256")


@pytest.mark.parametrize("stamp", ["yesterday", "1.5e9", "-5", ""])
def test_a_timestamp_that_is_not_whole_seconds_is_refused(client, timed, db, stamp):
    headers = {"X-Timestamp": stamp, "X-Signature": mac(f"{stamp}.".encode() + BODY).hex()}
    words = ("has none",) if not stamp else ("whole seconds",)
    refused(post(client, timed, headers), db, "x-timestamp", *words)


def test_a_timestamp_too_far_ahead_is_refused(client, timed, db):
    stamp = str(int(time.time()) + 3600)
    headers = {"X-Timestamp": stamp, "X-Signature": mac(f"{stamp}.".encode() + BODY).hex()}
    refused(post(client, timed, headers), db, "seconds away")


def test_the_timestamp_is_part_of_what_is_signed(client, timed, db):
    stamp = str(int(time.time()))
    # Signed over the body alone, as if no timestamp header were configured.
    headers = {"X-Timestamp": stamp, "X-Signature": mac(BODY).hex()}
    refused(post(client, timed, headers), db, "does not match", "timestamp, a dot and the body")
    moved = {"X-Timestamp": str(int(stamp) - 1), "X-Signature": mac(f"{stamp}.".encode() + BODY)}
    moved["X-Signature"] = moved["X-Signature"].hex()
    refused(post(client, timed, moved), db, "does not match")


def test_a_changed_body_is_refused(client, signed, db):
    headers = {"X-Signature": mac(BODY).hex()}
    refused(post(client, signed, headers, BODY.replace(b"123", b"124")), db, "does not match")


def test_a_signature_re_encoded_is_still_a_replay(client, signed, db):
    assert post(client, signed, {"X-Signature": mac(BODY).hex()}).status_code == 200
    again = post(client, signed, {"X-Signature": base64.b64encode(mac(BODY)).decode()})
    assert again.status_code == 401 and "already received" in again.get_json()["error"]
    assert stored(db) == (1, 1)


def test_a_replay_with_the_same_idempotency_key_is_refused(client, signed, db):
    headers = {"X-Signature": mac(BODY).hex(), "Idempotency-Key": "visit-1"}
    assert post(client, signed, headers).status_code == 200
    again = post(client, signed, headers)
    assert again.status_code == 401 and "already received" in again.get_json()["error"]
    assert stored(db) == (1, 1)


def test_a_trigger_without_a_secret_refuses_everything(client, user, db):
    trigger = make_trigger(user, SHA256, secret=None)
    refused(post(client, trigger, {"X-Signature": mac(BODY).hex()}), db, "no signing secret")


def test_signature_and_api_key_are_both_required(client, signed, db):
    key = webhook_auth.configure_webhook_auth(signed.id, WebhookAuth.API_KEY)
    signature = {"X-Signature": mac(BODY).hex()}
    assert post(client, signed, signature).status_code == 401  # no API key
    refused(post(client, signed, {"x-api-key": key}), db, "has none")  # no signature
    accepted = post(client, signed, {**signature, "x-api-key": key})
    assert accepted.status_code == 200
    clip = db.session.get(
        Dataclip, db.session.get(WorkOrder, accepted.get_json()["work_order_id"]).dataclip_id
    )
    headers = clip.request["headers"]
    assert headers["x-api-key"] == "[REDACTED]" and headers["x-signature"] == "[REDACTED]"
    assert key not in json.dumps(clip.request)


def test_an_unsigned_trigger_carries_no_signature_rule(client, user, db):
    from app.services.triggers import webhook_targets

    trigger = factories.workflow(factories.project(user)).triggers[0]
    assert webhook_targets.find_target(str(trigger.id)).signature is None
    assert client.post(f"/i/{trigger.id}", json={}).status_code == 200


@pytest.mark.parametrize("kind", ["unsigned", "signed"])
def test_accepting_takes_two_statements_signed_or_not(client, user, db, monkeypatch, kind):
    """The hot path stays two round trips: the rule rides on the trigger's row, and the
    signature is remembered inside the one INSERT statement."""
    from app import db_direct

    trigger = make_trigger(user, SHA256) if kind == "signed" else None
    trigger = trigger or factories.workflow(factories.project(user)).triggers[0]
    sent: list[str] = []
    real = db_direct.execute
    monkeypatch.setattr(db_direct, "execute", lambda sql, *a: sent.append(sql) or real(sql, *a))
    assert post(client, trigger, {"X-Signature": mac(BODY).hex()}).status_code == 200
    assert len(sent) == 2, sent
    assert ("webhook_signatures_seen" in sent[1]) is (kind == "signed")


def test_old_signatures_are_purged_and_recent_ones_kept(client, timed, signed, db):
    for trigger in (timed, signed):
        db.session.add(WebhookSignatureSeen(trigger_id=trigger.id, signature_digest="a" * 64))
        db.session.add(WebhookSignatureSeen(trigger_id=trigger.id, signature_digest="b" * 64))
    db.session.flush()
    # Kept for twice the window (600 s): "a" is older than that, "b" is not.
    db.session.execute(
        update(WebhookSignatureSeen)
        .where(WebhookSignatureSeen.signature_digest == "a" * 64)
        .values(seen_at=utcnow() - timedelta(seconds=700))
    )
    db.session.execute(
        update(WebhookSignatureSeen)
        .where(WebhookSignatureSeen.signature_digest == "b" * 64)
        .values(seen_at=utcnow() - timedelta(seconds=500))
    )
    assert webhook_signature.purge_seen() == 2
    left = db.session.scalars(select(WebhookSignatureSeen.signature_digest)).all()
    assert sorted(left) == ["b" * 64, "b" * 64]


def test_the_scheduler_purges_seen_signatures():
    from workers.scheduler import periodic_tasks

    tasks = {task.name: task for task in periodic_tasks()}
    assert tasks["signature purge"].function is webhook_signature.purge_seen
