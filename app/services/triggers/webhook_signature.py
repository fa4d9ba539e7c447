"""Signed webhooks: checking the HMAC signature a caller sends with its request.

The scheme, as the trigger panel and the README describe it to senders:

- what is signed: the raw body bytes exactly as sent; when the trigger names a timestamp
  header, the bytes of "<timestamp>.<raw body>" (the header's value, a dot, the body);
- the signature: HMAC-SHA256 (or HMAC-SHA1) of that with the shared secret, sent in the
  trigger's signature header as hex, as "sha256=<hex>" / "sha1=<hex>", or as base64;
- the timestamp: Unix time in whole seconds, at most the replay window away from now;
- a signature is accepted once: its SHA-256 is kept for the replay window
  (`webhook_signatures_seen`, written in the same transaction as the work order).

Only triggers that require a signature pay for any of this: the rule rides on the row
that finding the trigger reads anyway, so an unsigned trigger costs no extra query.
Every refusal is a 401 that says what was wrong, never what was expected.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import re
from base64 import b64decode
from dataclasses import dataclass

from sqlalchemy import Uuid, bindparam, text

from app.extensions import db
from app.services.encryption import decrypt_text
from app.services.triggers.webhook_input import WebhookRefused

ALGORITHMS = {"sha256": hashlib.sha256, "sha1": hashlib.sha1}
# Longer than any encoding of a SHA-256 MAC: whatever is longer is not a signature.
_MAX_HEADER_VALUE = 200
_HEX = re.compile(r"^[0-9A-Fa-f]+$")
_SECONDS = re.compile(r"^[0-9]{1,12}$")


@dataclass(frozen=True)
class SignatureRule:
    """How a trigger's callers sign: header (lower case), algorithm, encrypted secret,
    optional timestamp header (lower case) and replay window in seconds."""

    header: str
    algorithm: str
    secret_encrypted: bytes | None
    timestamp_header: str | None
    window_s: int


def rule_from_row(
    algorithm: str | None,
    header: str | None,
    secret_encrypted: bytes | None,
    timestamp_header: str | None,
    window_s: int | None,
) -> SignatureRule | None:
    """The rule a trigger row's columns describe, or None when no signature is required."""
    if not algorithm:
        return None
    return SignatureRule(
        header=(header or "").lower(),
        algorithm=algorithm,
        secret_encrypted=secret_encrypted,
        timestamp_header=timestamp_header.lower() if timestamp_header else None,
        window_s=window_s or 300,
    )


def verify(rule: SignatureRule, headers: dict[str, str], raw_body: bytes, now: float) -> str:
    """Check the request's signature; returns the digest under which it is remembered
    against replays. Raises WebhookRefused(401) naming what was wrong."""
    if rule.secret_encrypted is None:
        _refuse(
            "This webhook requires a signature, but no signing secret is set yet: a project "
            "admin sets one in the trigger panel."
        )
    given = headers.get(rule.header, "").strip()
    if not given:
        _refuse(
            f"This webhook requires an HMAC-{rule.algorithm.upper()} signature in the "
            f"{rule.header} header, and the request has none."
        )
    signature = _decode(rule, given)
    signed = raw_body
    if rule.timestamp_header:
        stamp = _timestamp(rule, headers.get(rule.timestamp_header, "").strip(), now)
        signed = stamp.encode() + b"." + raw_body
    secret = decrypt_text(rule.secret_encrypted).encode()
    expected = hmac.new(secret, signed, ALGORITHMS[rule.algorithm]).digest()
    if not hmac.compare_digest(expected, signature):
        what = "the timestamp, a dot and the body" if rule.timestamp_header else "the raw body"
        _refuse(
            f"The signature in the {rule.header} header does not match the request. Sign "
            f"{what} exactly as sent, with the secret set on this trigger."
        )
    # The decoded MAC, not the header text: hex, upper-case hex and base64 of one signature
    # are one signature, so re-encoding it is still a replay.
    return hashlib.sha256(rule.algorithm.encode() + b":" + signature).hexdigest()


def refuse_replay() -> None:
    """The 401 for a signature accepted before (within the replay window)."""
    _refuse(
        "This signed request was already received: each signature is accepted once. Sign "
        "the request again (with a new timestamp) to send it again."
    )


def was_seen(trigger_id, digest: str) -> bool:
    """True when the trigger accepted this signature digest before (and it is still kept)."""
    query = text(
        "SELECT 1 FROM webhook_signatures_seen "
        "WHERE trigger_id = :trigger AND signature_digest = :digest"
    ).bindparams(bindparam("trigger", type_=Uuid()))
    return db.session.execute(query, {"trigger": trigger_id, "digest": digest}).first() is not None


def purge_seen() -> int:
    """Forget signatures older than twice their trigger's replay window (a timestamp may be
    up to one window ahead of the clock, so a copy stays refusable for two); returns how
    many rows went. Run by the scheduler."""
    rows = db.session.execute(
        text(
            "DELETE FROM webhook_signatures_seen WHERE seen_at < CURRENT_TIMESTAMP - "
            "(SELECT 2 * t.webhook_replay_window_s FROM triggers t "
            " WHERE t.id = webhook_signatures_seen.trigger_id) * INTERVAL '1 second'"
        )
        if db.engine.dialect.name == "postgresql"
        else text(
            "DELETE FROM webhook_signatures_seen WHERE julianday('now') - julianday(seen_at) > "
            "(SELECT 2 * t.webhook_replay_window_s FROM triggers t "
            " WHERE t.id = webhook_signatures_seen.trigger_id) / 86400.0"
        )
    )
    db.session.commit()
    return rows.rowcount or 0


def _decode(rule: SignatureRule, given: str) -> bytes:
    """The MAC bytes from hex, "<algorithm>=<hex>" or base64; 401 when it is none of them."""
    size = ALGORITHMS[rule.algorithm]().digest_size
    shape = (
        f"The {rule.header} header is not an HMAC-{rule.algorithm.upper()} signature: send "
        f'{size * 2} hex digits, "{rule.algorithm}=<hex>" or {size} bytes in base64.'
    )
    if len(given) > _MAX_HEADER_VALUE:
        _refuse(shape)
    prefix, sep, rest = given.partition("=")
    if sep and prefix.lower() in ALGORITHMS:
        if prefix.lower() != rule.algorithm:
            _refuse(
                f"The {rule.header} header holds a {prefix.lower()} signature, but this webhook "
                f"expects {rule.algorithm}."
            )
        if len(rest) == size * 2 and _HEX.match(rest):
            return bytes.fromhex(rest)
        _refuse(shape)
    if len(given) == size * 2 and _HEX.match(given):
        return bytes.fromhex(given)
    try:
        padded = given.replace("-", "+").replace("_", "/")
        decoded = b64decode(padded + "=" * (-len(padded) % 4), validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if len(decoded) != size:
        _refuse(shape)
    return decoded


def _timestamp(rule: SignatureRule, given: str, now: float) -> str:
    """The timestamp header's value when it is Unix seconds within the window; else 401."""
    header = rule.timestamp_header
    if not given:
        _refuse(
            f"This webhook requires the time of signing (Unix seconds) in the {header} "
            "header, and the request has none."
        )
    if not _SECONDS.match(given):
        shown = given if len(given) <= 40 else given[:37] + "..."
        _refuse(
            f"The {header} header must be the Unix time in whole seconds "
            f"(e.g. {int(now)}), not {shown!r}."
        )
    skew = abs(int(given) - now)
    if skew > rule.window_s:
        _refuse(
            f"The {header} header is {int(skew)} seconds away from the server's clock; at "
            f"most {rule.window_s} are allowed. Sign the request again with the current time."
        )
    return given


def _refuse(message: str) -> None:
    raise WebhookRefused(401, f"{message} Nothing was saved.")
