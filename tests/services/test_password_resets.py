"""Password reset links (app/services/password_resets.py): mailed, hashed, one day, single use."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.models import AuditEvent, MailMessage, PasswordReset
from app.models.base import utcnow
from app.services import accounts, password_resets, passwords
from app.services.errors import Invalid, NotFound
from tests import factories

NEW_PASSWORD = "lemon tree by the river"


def token_from_mail(db, email: str) -> str:
    """The token of the newest reset link mailed to `email`."""
    mail = db.session.scalar(
        select(MailMessage)
        .where(MailMessage.to_address == email)
        .order_by(MailMessage.inserted_at.desc())
        .limit(1)
    )
    return re.search(r"/password/reset/(\S+)", mail.text).group(1)


def test_a_reset_mails_a_link_and_stores_only_its_digest(db, user):
    password_resets.request_reset(user.email.upper() + "  ")
    token = token_from_mail(db, user.email)
    reset = db.session.scalar(select(PasswordReset).where(PasswordReset.user_id == user.id))
    assert token not in reset.token_digest and len(reset.token_digest) == 64
    assert timedelta(hours=23) < reset.expires_at - utcnow() <= timedelta(days=1)
    entry = db.session.scalar(select(AuditEvent).where(AuditEvent.item_id == user.id))
    assert entry.event == "password_reset_requested" and token not in str(entry.changes)


@pytest.mark.parametrize("email", ["nobody@example.org", "", "not an email", "a\x00b"])
def test_unknown_addresses_get_no_mail_and_no_error(db, email):
    password_resets.request_reset(email)
    assert db.session.scalars(select(MailMessage)).all() == []
    assert db.session.scalars(select(PasswordReset)).all() == []


def test_disabled_users_get_no_link(db, user):
    user.disabled = True
    db.session.commit()
    password_resets.request_reset(user.email)
    assert db.session.scalars(select(PasswordReset)).all() == []


def test_at_most_three_links_an_hour_and_only_the_newest_works(db, user):
    for _ in range(5):
        password_resets.request_reset(user.email)
    mails = db.session.scalars(select(MailMessage).where(MailMessage.to_address == user.email))
    assert len(mails.all()) == password_resets.MAX_PER_HOUR
    newest = token_from_mail(db, user.email)
    assert password_resets.find_valid(newest).user_id == user.id
    valid = [r for r in db.session.scalars(select(PasswordReset)) if r.expires_at > utcnow()]
    assert len(valid) == 1


def test_resetting_sets_the_password_ends_sessions_and_uses_the_link(db, user):
    password_resets.request_reset(user.email)
    token = token_from_mail(db, user.email)
    old_session = user.get_id()
    changed = password_resets.reset_password(token, NEW_PASSWORD)
    assert changed.id == user.id and changed.password_changed_at is not None
    assert passwords.verify(changed.password_hash, NEW_PASSWORD)
    assert accounts.authenticate(user.email, factories.PASSWORD) is None
    assert accounts.load_session_user(old_session) is None
    with pytest.raises(Invalid, match="already used"):
        password_resets.reset_password(token, "another fine phrase here")
    events = db.session.scalars(select(AuditEvent.event).where(AuditEvent.item_id == user.id))
    assert "password_reset" in set(events)


def test_expired_links_are_refused(db, user):
    password_resets.request_reset(user.email)
    token = token_from_mail(db, user.email)
    reset = db.session.scalar(select(PasswordReset))
    reset.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    with pytest.raises(Invalid, match="expired"):
        password_resets.reset_password(token, NEW_PASSWORD)
    assert accounts.authenticate(user.email, factories.PASSWORD) == user


@pytest.mark.parametrize("token", ["", "x", "a" * 43, "a" * 5000, "../../etc/passwd"])
def test_crafted_tokens_are_not_found(db, user, token):
    password_resets.request_reset(user.email)
    with pytest.raises(NotFound):
        password_resets.find_valid(token)


@pytest.mark.parametrize(
    ("password", "says"),
    [
        ("short", "at least 12"),
        ("x" * 129, "at most 128"),
        ("good river lemon\x00", "NUL"),
        ("password1234", "commonly used"),
    ],
)
def test_bad_new_passwords_leave_the_link_usable(db, user, password, says):
    password_resets.request_reset(user.email)
    token = token_from_mail(db, user.email)
    with pytest.raises(Invalid) as error:
        password_resets.reset_password(token, password)
    assert error.value.field == "password" and says in error.value.message
    assert password_resets.find_valid(token).used_at is None
    assert accounts.authenticate(user.email, factories.PASSWORD) == user
