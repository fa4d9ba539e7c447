"""Personal API tokens: shown once and stored as a digest, names and expiry checked, revoked
tokens and expired ones refused, last use noted at most once a minute."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import ApiToken, AuditEvent
from app.models.base import utcnow
from app.services import accounts, api_tokens
from app.services.errors import Invalid, NotFound
from tests import factories

TODAY = date(2026, 3, 10)


def _entries(item_id):
    return db.session.scalars(
        select(AuditEvent).where(AuditEvent.item_id == item_id).order_by(AuditEvent.inserted_at)
    ).all()


def test_a_new_token_is_returned_once_and_only_its_digest_is_stored(user):
    row, token = api_tokens.create_token(user.id, "Nightly export")
    assert token.startswith("fry_") and len(token) > 40
    stored = db.session.get(ApiToken, row.id)
    assert stored.token_digest != token and token not in stored.token_digest
    assert stored.prefix == token[:10] and stored.name == "Nightly export"
    assert api_tokens.user_for_token(token).id == user.id
    [entry] = _entries(row.id)
    assert entry.event == "created" and entry.actor_id == user.id
    assert token not in str(entry.changes)
    assert entry.changes["name"] == "Nightly export" and entry.changes["expires_at"] is None


def test_the_name_is_tidied(user):
    row, _ = api_tokens.create_token(user.id, "  Nightly \t export  ")
    assert row.name == "Nightly export"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "Give the token a name"),
        ("   ", "Give the token a name"),
        (None, "Give the token a name"),
        (42, "Give the token a name"),
        ("bad\x00name", "control characters"),
        ("bell\x07", "control characters"),
        ("x" * 1000, "at most 200 characters"),
    ],
)
def test_bad_names_are_refused_and_nothing_is_stored(user, name, message):
    with pytest.raises(Invalid, match=message) as caught:
        api_tokens.create_token(user.id, name)
    assert caught.value.field == "name"
    assert api_tokens.list_tokens(user.id) == []


def test_an_expiry_date_lets_the_token_work_through_that_day(user):
    row, _ = api_tokens.create_token(user.id, "Short", "2026-03-12", today=TODAY)
    assert row.expires_at == datetime(2026, 3, 13, tzinfo=UTC)
    assert api_tokens.last_day(row) == date(2026, 3, 12)
    today_row, _ = api_tokens.create_token(user.id, "Today", TODAY, today=TODAY)
    assert api_tokens.last_day(today_row) == TODAY
    longest, _ = api_tokens.create_token(user.id, "Five years", "2031-03-10", today=TODAY)
    assert api_tokens.last_day(longest) == date(2031, 3, 10)


@pytest.mark.parametrize(
    ("expires_on", "message"),
    [
        ("2026-03-09", "in the past"),
        ("1999-01-01", "in the past"),
        ("2026-13-01", "YYYY-MM-DD"),
        ("tomorrow", "YYYY-MM-DD"),
        ("2026-03-12T10:00", "YYYY-MM-DD"),
        ("9" * 500, "YYYY-MM-DD"),
        (12, "YYYY-MM-DD"),
        (datetime(2026, 4, 1, tzinfo=UTC), "as a date"),
        ("9999-12-31", "within five years"),
        ("2031-03-11", "within five years"),
    ],
)
def test_bad_expiry_dates_are_refused(user, expires_on, message):
    with pytest.raises(Invalid, match=message) as caught:
        api_tokens.create_token(user.id, "Token", expires_on, today=TODAY)
    assert caught.value.field == "expires_on"
    assert api_tokens.list_tokens(user.id) == []


def test_an_empty_expiry_means_the_token_does_not_expire(user):
    row, _ = api_tokens.create_token(user.id, "Forever", "")
    assert row.expires_at is None and api_tokens.last_day(row) is None


def test_an_expired_token_is_refused(user):
    row, token = api_tokens.create_token(user.id, "Old")
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert api_tokens.user_for_token(token) is None
    assert api_tokens.is_expired(row)


def test_a_revoked_token_is_refused_at_once_and_revoking_is_audited_once(user):
    row, token = api_tokens.create_token(user.id, "Script")
    api_tokens.revoke_token(user.id, row.id)
    assert api_tokens.user_for_token(token) is None
    api_tokens.revoke_token(user.id, row.id)  # twice: no change, no second entry
    assert [e.event for e in _entries(row.id)] == ["created", "revoked"]


def test_someone_elses_token_cannot_be_revoked(user):
    other = factories.user()
    row, token = api_tokens.create_token(other.id, "Theirs")
    with pytest.raises(NotFound):
        api_tokens.revoke_token(user.id, row.id)
    assert api_tokens.user_for_token(token).id == other.id


def test_a_disabled_users_tokens_stop_working(user):
    _, token = api_tokens.create_token(user.id, "Script")
    user.disabled = True
    db.session.commit()
    assert api_tokens.user_for_token(token) is None
    with pytest.raises(NotFound):
        api_tokens.create_token(user.id, "Another")


@pytest.mark.parametrize("bad", ["", "fry_", "x" * 5000, "fry_\x00", "Bearer fry_abc"])
def test_unknown_or_malformed_tokens_find_nobody(user, bad):
    api_tokens.create_token(user.id, "Script")
    assert api_tokens.user_for_token(bad) is None


def test_last_use_is_written_at_most_once_a_minute(user):
    row, token = api_tokens.create_token(user.id, "Busy script")
    assert row.last_used_at is None
    api_tokens.user_for_token(token)
    db.session.refresh(row)
    first = row.last_used_at
    assert first is not None
    recent = utcnow() - timedelta(seconds=30)
    row.last_used_at = recent
    db.session.commit()
    api_tokens.user_for_token(token)
    db.session.refresh(row)
    assert row.last_used_at == recent  # used again within the minute: not written
    row.last_used_at = utcnow() - timedelta(minutes=2)
    db.session.commit()
    api_tokens.user_for_token(token)
    db.session.refresh(row)
    assert utcnow() - row.last_used_at < timedelta(seconds=10)


def test_tokens_are_listed_working_first_then_newest(user):
    old, _ = api_tokens.create_token(user.id, "Old")
    old.inserted_at = utcnow() - timedelta(days=2)
    revoked, _ = api_tokens.create_token(user.id, "Revoked")
    api_tokens.create_token(user.id, "New")
    db.session.commit()
    api_tokens.revoke_token(user.id, revoked.id)
    other = factories.user()
    api_tokens.create_token(other.id, "Not mine")
    assert [t.name for t in api_tokens.list_tokens(user.id)] == ["New", "Old", "Revoked"]


def test_the_command_line_path_still_works_through_accounts(user):
    token = accounts.create_api_token(user.email, "")
    assert accounts.user_for_api_token(token).id == user.id
    row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert row.name == "Command line"
    [entry] = _entries(row.id)
    assert entry.actor_id is None and entry.changes["via"] == "ferry create-token"
    with pytest.raises(NotFound):
        accounts.create_api_token("ghost@example.org")
