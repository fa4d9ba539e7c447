"""Who else has a workflow open in the builder right now.

Each open builder tab sends a heartbeat every few seconds; Redis keeps one sorted set per
workflow (member `user:tab:mode`, score = the time of the last heartbeat), so an entry older
than the TTL is somebody who closed the tab or lost their connection. Presence is a hint, not
state (CONVENTIONS rule 6): when Redis is unreachable the builder simply shows nobody.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass

from redis.exceptions import RedisError
from sqlalchemy import select

from app.extensions import db, redis_client
from app.models import User

EDITING = "editing"
VIEWING = "viewing"
MODES = (EDITING, VIEWING)
DEFAULT_TTL_S = 30
# A tab names itself with a random token from the page; anything else is refused.
TAB = re.compile(r"^[A-Za-z0-9_-]{1,40}$")

log = logging.getLogger("ferry.presence")


@dataclass(frozen=True)
class Present:
    """Another person with the workflow open: their name, initials and editing/viewing."""

    user_id: uuid.UUID
    name: str
    mode: str

    @property
    def initials(self) -> str:
        """Up to two letters for the avatar ('Amina Diallo' -> 'AD')."""
        words = [w for w in re.split(r"[\s@._-]+", self.name) if w]
        return "".join(w[0] for w in words[:2]).upper() or "?"

    @property
    def first_name(self) -> str:
        """The name as a sentence starts it ('Amina is also editing')."""
        return self.name.split()[0] if self.name.split() else self.name


def valid_tab(tab: object) -> bool:
    """True when `tab` is a tab token the page could have sent."""
    return isinstance(tab, str) and TAB.match(tab) is not None


def heartbeat(
    workflow_id: uuid.UUID,
    user_id: uuid.UUID,
    tab: str,
    mode: str,
    ttl_s: int = DEFAULT_TTL_S,
    now: float | None = None,
) -> list[Present]:
    """Record that `user_id` has the workflow open in `tab`, and answer who else has it open.
    Never raises for Redis trouble: nobody is shown then."""
    try:
        _touch(workflow_id, user_id, tab, mode, ttl_s, time.time() if now is None else now)
        return others(workflow_id, user_id, ttl_s, now)
    except RedisError as error:
        log.debug("presence unavailable: %s", error)
        return []


def leave(workflow_id: uuid.UUID, user_id: uuid.UUID, tab: str) -> None:
    """Forget one tab at once (the page is closing); the user's other tabs stay."""
    try:
        redis_client().zrem(_key(workflow_id), *(_member(user_id, tab, mode) for mode in MODES))
    except RedisError as error:
        log.debug("presence unavailable: %s", error)


def others(
    workflow_id: uuid.UUID,
    user_id: uuid.UUID,
    ttl_s: int = DEFAULT_TTL_S,
    now: float | None = None,
) -> list[Present]:
    """The people other than `user_id` seen within the TTL, once each however many tabs
    they have open (editing wins over viewing), by name."""
    since = (time.time() if now is None else now) - ttl_s
    modes: dict[uuid.UUID, str] = {}
    for raw in redis_client().zrangebyscore(_key(workflow_id), since, "+inf"):
        parsed = _parse(raw)
        if parsed is None or parsed[0] == user_id:
            continue
        if modes.get(parsed[0]) != EDITING:
            modes[parsed[0]] = parsed[1]
    if not modes:
        return []
    users = db.session.execute(
        select(User.id, User.name, User.email).where(User.id.in_(modes), User.disabled.is_(False))
    ).all()
    people = [Present(row.id, row.name or row.email, modes[row.id]) for row in users]
    return sorted(people, key=lambda p: p.name.lower())


def _touch(
    workflow_id: uuid.UUID, user_id: uuid.UUID, tab: str, mode: str, ttl_s: int, now: float
) -> None:
    key = _key(workflow_id)
    other_mode = VIEWING if mode == EDITING else EDITING
    pipe = redis_client().pipeline()
    pipe.zrem(key, _member(user_id, tab, other_mode))
    pipe.zadd(key, {_member(user_id, tab, mode): now})
    # Old entries go on every heartbeat, and the whole set when nobody has it open.
    pipe.zremrangebyscore(key, "-inf", now - ttl_s)
    pipe.expire(key, ttl_s * 2)
    pipe.execute()


def _key(workflow_id: uuid.UUID) -> str:
    return f"ferry:presence:{workflow_id}"


def _member(user_id: uuid.UUID, tab: str, mode: str) -> str:
    return f"{user_id}:{tab}:{mode}"


def _parse(raw: bytes | str) -> tuple[uuid.UUID, str] | None:
    text = raw.decode() if isinstance(raw, bytes) else raw
    user, _, rest = text.partition(":")
    mode = rest.rpartition(":")[2]
    try:
        return uuid.UUID(user), mode if mode in MODES else VIEWING
    except ValueError:
        return None
