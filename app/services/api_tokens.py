"""Personal API tokens: creating one (shown once, only its digest kept), listing a person's
tokens, revoking one, and finding the user behind a bearer token on every API call."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select, update

from app.extensions import db
from app.models import ApiToken, User
from app.models.base import utcnow
from app.services import audit
from app.services.errors import Invalid, NotFound

TOKEN_PREFIX = "fry_"  # noqa: S105 -- a label, not a secret
ITEM = "api_token"
NAME_MAX = 200
# A token's expiry may be set up to this many years ahead; "no expiry" is the choice for longer.
LONGEST_EXPIRY_YEARS = 5
# `last_used_at` is written at most this often per token: a busy script would otherwise turn
# every API call into a write to the same row.
LAST_USED_PRECISION = timedelta(minutes=1)


def create_token(
    user_id: uuid.UUID, name: object, expires_on: object = None, *, today: date | None = None
) -> tuple[ApiToken, str]:
    """Make a token for the user; returns the row and the token, which is never kept or
    shown again. `expires_on` is a date (or "YYYY-MM-DD"): the token works through that day
    (UTC) and stops at the midnight after it; None or "" means it does not expire."""
    user = db.session.get(User, user_id)
    if user is None or user.disabled:
        raise NotFound("That user no longer exists.")
    clean_name = _clean_name(name)
    expires_at = _expiry(expires_on, today or utcnow().date())
    row, token = _add(user.id, clean_name, expires_at)
    audit.record(ITEM, row.id, "created", user.id, _described(row))
    db.session.commit()
    return row, token


def create_token_for_email(email: str, name: str = "") -> str:
    """A token for the user with `email` (the `ferry create-token` command), without expiry."""
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"No user has the email {email}.")
    row, token = _add(user.id, _clean_name(name or "Command line", "name"), None)
    audit.record(ITEM, row.id, "created", None, {**_described(row), "via": "ferry create-token"})
    db.session.commit()
    return token


def list_tokens(user_id: uuid.UUID) -> list[ApiToken]:
    """The user's tokens, working ones first, newest first within each group."""
    rows = db.session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == user_id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.inserted_at.desc(), ApiToken.id)
    )
    return list(rows)


def revoke_token(user_id: uuid.UUID, token_id: uuid.UUID) -> ApiToken:
    """Revoke one of the user's own tokens; it is refused by the API from now on. Someone
    else's token is NotFound, as if it did not exist. Revoking twice changes nothing."""
    row = db.session.scalar(
        select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id)
    )
    if row is None:
        raise NotFound("There is no such token among yours.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record(ITEM, row.id, "revoked", user_id, _described(row))
        db.session.commit()
    return row


def user_for_token(token: str) -> User | None:
    """The active user owning this bearer token, or None when it is unknown, revoked,
    expired or its user is disabled. Notes when it was used, at most once a minute."""
    if not token or len(token) > 200:
        return None
    api_token = db.session.scalar(
        select(ApiToken).where(
            ApiToken.token_digest == _digest(token), ApiToken.revoked_at.is_(None)
        )
    )
    if api_token is None or api_token.user.disabled:
        return None
    now = utcnow()
    if api_token.expires_at is not None and _aware(api_token.expires_at) <= now:
        return None
    last = api_token.last_used_at
    if last is None or now - _aware(last) >= LAST_USED_PRECISION:
        # A conditional UPDATE, so two calls at once do not both write (or wait on) the row.
        db.session.execute(
            update(ApiToken)
            .where(
                ApiToken.id == api_token.id,
                (ApiToken.last_used_at.is_(None))
                | (ApiToken.last_used_at <= now - LAST_USED_PRECISION),
            )
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    return api_token.user


def is_expired(row: ApiToken, now: datetime | None = None) -> bool:
    """True when the token's expiry has passed."""
    return row.expires_at is not None and _aware(row.expires_at) <= (now or utcnow())


def last_day(row: ApiToken) -> date | None:
    """The last day (UTC) the token works, as chosen when it was made."""
    if row.expires_at is None:
        return None
    return (_aware(row.expires_at) - timedelta(days=1)).date()


def _add(user_id: uuid.UUID, name: str, expires_at: datetime | None) -> tuple[ApiToken, str]:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        user_id=user_id,
        name=name,
        token_digest=_digest(token),
        prefix=token[:10],
        expires_at=expires_at,
    )
    db.session.add(row)
    db.session.flush()
    return row, token


def _clean_name(raw: object, field: str = "name") -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise Invalid(field, "Give the token a name, e.g. the script or system that will use it.")
    name = " ".join(raw.split())
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise Invalid(field, "The name must not contain control characters (such as NUL).")
    if len(name) > NAME_MAX:
        raise Invalid(field, f"The name must be at most {NAME_MAX} characters long.")
    return name


def _expiry(raw: object, today: date) -> datetime | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, datetime):
        raise Invalid("expires_on", "Give the expiry as a date.")
    if isinstance(raw, str):
        try:
            raw = date.fromisoformat(raw.strip())
        except ValueError:
            raise Invalid("expires_on", "Give the expiry date as YYYY-MM-DD.") from None
    if not isinstance(raw, date):
        raise Invalid("expires_on", "Give the expiry date as YYYY-MM-DD.")
    if raw < today:
        raise Invalid("expires_on", "The expiry date is in the past; choose today or later.")
    try:
        latest = today.replace(year=today.year + LONGEST_EXPIRY_YEARS)
    except ValueError:  # 29 February
        latest = today.replace(year=today.year + LONGEST_EXPIRY_YEARS, day=28)
    if raw > latest:
        raise Invalid(
            "expires_on",
            "Choose an expiry within five years, or leave it empty for a token that does "
            "not expire.",
        )
    return datetime.combine(raw + timedelta(days=1), datetime.min.time(), tzinfo=UTC)


def _described(row: ApiToken) -> dict:
    """What the audit log keeps about a token: never the token, only how to recognise it."""
    expires = row.expires_at.isoformat() if row.expires_at is not None else None
    return {"name": row.name, "prefix": row.prefix, "expires_at": expires}


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def limit_key(token: str) -> str:
    """What counts a token's calls toward its rate limit: its digest, never the token."""
    return _digest(token)[:32]


def _digest(token: str) -> str:
    # Tokens are 256-bit random values, so a fast hash is enough (no brute force possible).
    return hashlib.sha256(token.encode()).hexdigest()
