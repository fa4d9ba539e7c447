"""Superusers managing users (app/services/users.py): search, rights, disabling (deleting:
tests/services/deletions/test_users.py)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from app.extensions import db as database
from app.models import AuditEvent, User
from app.services import accounts, users
from app.services.errors import Conflict, Invalid, NotFound
from tests import factories


@pytest.fixture
def admin(db):
    return factories.user(superuser=True, email="root@example.org")


def events(item_id) -> list[str]:
    """The audit events about one item, oldest first."""
    return list(
        database.session.scalars(
            select(AuditEvent.event)
            .where(AuditEvent.item_id == item_id)
            .order_by(AuditEvent.inserted_at, AuditEvent.id)
        )
    )


def test_search_matches_email_or_name_in_any_case(db):
    ana = accounts.create_user("ana.silva@example.org", factories.PASSWORD, name="Ana Silva")
    accounts.create_user("bo@example.org", factories.PASSWORD, name="Bo Lund")
    assert [u.email for u in users.search("SILVA").users] == [ana.email]
    assert [u.email for u in users.search("ana.s").users] == [ana.email]
    assert {u.email for u in users.search("").users} >= {ana.email, "bo@example.org"}


def test_search_treats_percent_underscore_and_backslash_literally(db):
    accounts.create_user("under_score@example.org", factories.PASSWORD)
    accounts.create_user("underxscore@example.org", factories.PASSWORD, name="100% sure")
    assert [u.email for u in users.search("under_").users] == ["under_score@example.org"]
    assert [u.email for u in users.search("100%").users] == ["underxscore@example.org"]
    assert users.search("%").users[0].email == "underxscore@example.org"
    assert users.search("\\").users == []


@pytest.mark.parametrize(
    ("query", "says"), [("a\x00b", "NUL"), ("x" * 201, "too long")], ids=["nul", "long"]
)
def test_search_refuses_nul_and_overlong_queries(db, query, says):
    with pytest.raises(Invalid) as error:
        users.search(query)
    assert error.value.field == "q" and says in error.value.message


def test_search_pages_by_email_without_gaps_or_repeats(db, monkeypatch):
    monkeypatch.setattr(users, "PAGE_SIZE", 2)
    emails = sorted(
        accounts.create_user(f"page{n}@example.org", factories.PASSWORD).email for n in range(5)
    )
    seen, after = [], None
    while True:
        page = users.search("page", after)
        seen += [u.email for u in page.users]
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == emails


def test_unknown_user_is_not_found(db):
    with pytest.raises(NotFound):
        users.detail(uuid.uuid4())
    with pytest.raises(NotFound):
        users.disable(factories.user(superuser=True), uuid.uuid4())


def test_superuser_rights_are_granted_and_revoked_with_audit(db, admin):
    person = factories.user()
    assert users.set_superuser(admin, person.id, True).is_superuser
    assert not users.set_superuser(admin, person.id, False).is_superuser
    assert events(person.id) == ["superuser_granted", "superuser_revoked"]


def test_the_last_active_superuser_keeps_the_rights(db, admin):
    only = db.session.scalars(select(User).where(User.is_superuser.is_(True))).all()
    for other in only:
        if other.id != admin.id:
            other.is_superuser = False
    db.session.commit()
    with pytest.raises(Conflict, match="only active superuser"):
        users.set_superuser(admin, admin.id, False)
    assert db.session.get(User, admin.id).is_superuser
    # With a second active superuser, one may step down.
    second = factories.user(superuser=True)
    users.set_superuser(admin, admin.id, False)
    assert users.last_active_superuser(second)


def test_disabling_ends_sessions_and_tokens_and_enabling_does_not_revive_them(db, admin):
    person = factories.user()
    token = accounts.create_api_token(person.email)
    old_session = person.get_id()
    assert accounts.load_session_user(old_session) == person
    users.disable(admin, person.id)
    assert accounts.load_session_user(old_session) is None
    assert accounts.user_for_api_token(token) is None
    assert accounts.authenticate(person.email, factories.PASSWORD) is None
    users.enable(admin, person.id)
    assert accounts.load_session_user(old_session) is None
    assert accounts.user_for_api_token(token) == person
    assert events(person.id) == ["disabled", "enabled"]


def test_nobody_disables_themselves(db, admin):
    with pytest.raises(Conflict, match="your own account"):
        users.disable(admin, admin.id)
    assert not db.session.get(User, admin.id).disabled
