"""Checking pooled database connections before use, but only after they sat idle.

SQLAlchemy's `pool_pre_ping` sends a round trip on every checkout: on a webhook that is a
third of its database work. A connection returned to the pool moments ago is as good as the
request that used it proved it to be; one that sat idle may have been cut by a database
restart or a firewall, so only those are pinged. A failed ping makes the pool replace the
connection, as `pool_pre_ping` would.
"""

from __future__ import annotations

import time

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

IDLE_BEFORE_PING_S = 5.0
_RETURNED_AT = "ferry_returned_at"


def ping_idle_connections(engine: Engine) -> None:
    """Install the checkin/checkout listeners on `engine`'s pool."""

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_connection, record) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _taken(dbapi_connection, record, proxy) -> None:
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is not None and time.monotonic() - returned_at < IDLE_BEFORE_PING_S:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise DisconnectionError(f"idle connection failed its ping: {error}") from error
        if not alive:
            raise DisconnectionError("idle connection failed its ping")
