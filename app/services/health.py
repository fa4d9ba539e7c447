"""Whether the services Ferry depends on answer."""

from __future__ import annotations

from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db, redis_client


def check_database() -> str | None:
    """None when the database answers a query, else a short reason."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        db.session.rollback()
        return _first_line(error)
    return None


def check_redis() -> str | None:
    """None when Redis answers PING, else a short reason."""
    try:
        redis_client().ping()
    except (RedisError, OSError) as error:
        return _first_line(error)
    return None


def _first_line(error: Exception) -> str:
    text_ = str(getattr(error, "orig", None) or error).strip()
    return text_.splitlines()[0] if text_ else type(error).__name__
