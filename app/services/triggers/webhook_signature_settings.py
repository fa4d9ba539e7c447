"""A webhook trigger's signature settings: how the workflow document carries them, who may
change them, and the signing secret (which the document never carries).

In the document (YAML, API, the studio's save) a webhook trigger may hold:

    webhook_signature_algorithm: sha256      # or sha1; absent or null: no signature required
    webhook_signature_header: X-Signature    # the header carrying the signature
    webhook_timestamp_header: X-Timestamp    # optional: Unix seconds, signed with the body
    webhook_replay_window_s: 300             # optional: seconds a timestamp may be off

The secret is set in the trigger panel by a project admin (typed, or made by Ferry and shown
once), stored encrypted, and never exported: an imported signed trigger refuses every
request until an admin sets its secret. Turning a signature requirement off or changing it
is a change to how callers authenticate, so on an existing trigger only admins may make it;
for the same reason only admins may move a signed trigger's custom path or remove a signed
trigger (or its workflow), which would free its address for a trigger without the rule.
"""

from __future__ import annotations

import re
import secrets
import uuid

from sqlalchemy import inspect, select

from app.extensions import db
from app.models import ProjectMember, Role, Trigger, TriggerType, User
from app.services.encryption import encrypt_text
from app.services.errors import Invalid, NotFound
from app.services.triggers.webhook_signature import ALGORITHMS

KEYS = (
    "webhook_signature_algorithm",
    "webhook_signature_header",
    "webhook_timestamp_header",
    "webhook_replay_window_s",
)
DEFAULT_WINDOW_S = 300
MAX_WINDOW_S = 86400
MAX_SECRET = 500
_HEADER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
# Headers that mean something else to HTTP or to Ferry: a signature cannot travel in them.
_TAKEN = {
    "authorization",
    "proxy-authorization",
    "cookie",
    "x-api-key",
    "content-type",
    "content-length",
    "host",
    "idempotency-key",
}


def read(raw: dict, path: str) -> tuple[dict | None, list[tuple[str, str]]]:
    """(settings or None, problems as (path, message)) from a webhook trigger's entry."""
    problems: list[tuple[str, str]] = []
    algorithm = raw.get("webhook_signature_algorithm")
    if algorithm is None:
        extra = [k for k in KEYS[1:] if raw.get(k) is not None]
        if extra:
            problems.append(
                (
                    f"{path}.webhook_signature_algorithm",
                    f"{extra[0]} is set but no signature is required: set "
                    "webhook_signature_algorithm to sha256 or sha1, or remove the signature keys.",
                )
            )
        return None, problems
    if algorithm not in ALGORITHMS:
        problems.append(
            (
                f"{path}.webhook_signature_algorithm",
                f"{_show(algorithm)} is not one of: sha256, sha1 (or null: no signature).",
            )
        )
    header = _header(
        raw.get("webhook_signature_header"), path, "webhook_signature_header", problems
    )
    if header is None and not any(p[0].endswith(".webhook_signature_header") for p in problems):
        problems.append(
            (
                f"{path}.webhook_signature_header",
                "A signed webhook needs the name of the header that carries the signature, "
                "e.g. X-Signature.",
            )
        )
    stamp = _header(raw.get("webhook_timestamp_header"), path, "webhook_timestamp_header", problems)
    if stamp and header and stamp.lower() == header.lower():
        problems.append(
            (
                f"{path}.webhook_timestamp_header",
                "The timestamp needs a header of its own, not the signature's.",
            )
        )
    window = raw.get("webhook_replay_window_s", DEFAULT_WINDOW_S)
    if window is None:
        window = DEFAULT_WINDOW_S
    if isinstance(window, bool) or not isinstance(window, int) or not 0 < window <= MAX_WINDOW_S:
        problems.append(
            (
                f"{path}.webhook_replay_window_s",
                f"The replay window is a whole number of seconds from 1 to {MAX_WINDOW_S} "
                "(a day), e.g. 300.",
            )
        )
        window = DEFAULT_WINDOW_S
    settings = {
        "webhook_signature_algorithm": algorithm,
        "webhook_signature_header": header,
        "webhook_timestamp_header": stamp,
        "webhook_replay_window_s": window,
    }
    return (None if problems else settings), problems


def export(trigger: Trigger) -> dict:
    """The trigger's signature keys for its document entry (none when not required)."""
    if not trigger.webhook_signature_algorithm:
        return {}
    entry = {
        "webhook_signature_algorithm": trigger.webhook_signature_algorithm,
        "webhook_signature_header": trigger.webhook_signature_header,
    }
    if trigger.webhook_timestamp_header:
        entry["webhook_timestamp_header"] = trigger.webhook_timestamp_header
    entry["webhook_replay_window_s"] = trigger.webhook_replay_window_s
    return entry


def apply(
    trigger: Trigger,
    settings: dict | None,
    *,
    project_id: uuid.UUID,
    actor_id: uuid.UUID | None,
    path: str,
) -> None:
    """Write the document's settings onto the trigger. A change to an existing trigger's
    settings needs a project admin (`actor_id` None: Ferry itself, e.g. a git pull)."""
    wanted = settings or {}
    state = inspect(trigger)
    if state.persistent and actor_id is not None:  # a trigger this document adds is not
        comparable = {k: v for k, v in wanted.items() if v is not None}
        current = export(trigger)
        # A signed trigger's custom path is part of what callers must sign for: handing it
        # on (to a trigger without the rule) would be a way round the rule.
        moved = bool(current) and state.attrs.custom_path.history.has_changes()
        if (comparable != current or moved) and not _is_admin(project_id, actor_id):
            raise Invalid(
                f"{path}.{'custom_path' if comparable == current else KEYS[0]}",
                "Only project admins can change whether and how callers of this webhook must "
                "sign their requests, or the address of a webhook that requires a signature.",
            )
    trigger.webhook_signature_algorithm = wanted.get("webhook_signature_algorithm")
    trigger.webhook_signature_header = wanted.get("webhook_signature_header")
    trigger.webhook_timestamp_header = wanted.get("webhook_timestamp_header")
    trigger.webhook_replay_window_s = wanted.get("webhook_replay_window_s", DEFAULT_WINDOW_S)


def guard_removal(trigger: Trigger, *, project_id: uuid.UUID, actor_id: uuid.UUID | None) -> None:
    """Removing a trigger that requires a signature frees its address for a trigger without
    the rule, so it needs a project admin too."""
    signed = trigger.webhook_signature_algorithm is not None
    if signed and actor_id is not None and not _is_admin(project_id, actor_id):
        raise Invalid(
            f"triggers.{trigger.key}",
            f"Only project admins can remove the trigger {trigger.key!r}: it requires a signature.",
        )


def set_secret(trigger_id: uuid.UUID, secret: str | None) -> str | None:
    """Set the signing secret: the one typed (returned as None: it is never shown back), or,
    when `secret` is blank, a new random one, returned to be shown once."""
    trigger = db.session.get(Trigger, trigger_id)
    if trigger is None or trigger.type is not TriggerType.WEBHOOK:
        raise NotFound("There is no such webhook trigger.")
    typed = (secret or "").strip()
    if len(typed) > MAX_SECRET:
        raise Invalid("secret", f"The secret is too long: at most {MAX_SECRET} characters.")
    if typed and len(typed) < 16:
        raise Invalid(
            "secret",
            "The secret is too short to be safe: use at least 16 characters, or leave the "
            "field empty and Ferry makes one.",
        )
    made = None if typed else secrets.token_hex(32)
    trigger.webhook_signature_secret_encrypted = encrypt_text(typed or made)
    db.session.commit()
    return made


def _is_admin(project_id: uuid.UUID, actor_id: uuid.UUID) -> bool:
    user = db.session.get(User, actor_id)
    if user is not None and user.is_superuser:
        return True
    role = db.session.scalar(
        select(ProjectMember.role).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == actor_id
        )
    )
    return role is not None and role.allows(Role.ADMIN)


def _header(value: object, path: str, key: str, problems: list) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or not _HEADER.match(value.strip()):
        problems.append(
            (
                f"{path}.{key}",
                "A header name uses letters, digits, '-' and '_' (at most 100 characters), "
                "e.g. X-Signature.",
            )
        )
        return None
    if value.strip().lower() in _TAKEN:
        problems.append(
            (
                f"{path}.{key}",
                f"{value.strip()} already means something to HTTP or to Ferry: choose another "
                "header, e.g. X-Signature.",
            )
        )
        return None
    return value.strip()


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
