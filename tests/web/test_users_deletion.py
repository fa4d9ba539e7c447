"""Deleting a user on the superuser pages: the list and the user's page say "Deletion on
<date>" with a Cancel button, a cancel restores only what the deletion changed and says that
API tokens stay revoked, and bad input is answered 4xx with a clear message."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest

from app.models import User
from app.models.base import utcnow
from app.services import accounts, users
from app.services.deletions import users as deletion
from tests import factories
from tests.support import csrf_token_from, log_in


@pytest.fixture
def person(db):
    return accounts.create_user("vera@example.org", factories.PASSWORD, name="Vera Lopes")


def text(reply) -> str:
    return unescape(reply.get_data(as_text=True))


def post(client, page_url: str, action_url: str, data: dict | None = None):
    token = csrf_token_from(client.get(page_url).get_data(as_text=True))
    return client.post(action_url, data={**(data or {}), "csrf_token": token})


def stored(db, person) -> User | None:
    db.session.expire_all()
    return db.session.get(User, person.id)


def test_the_delete_page_says_the_date_and_the_list_shows_the_pending_deletion(
    admin_client, person, db
):
    day = f"{utcnow() + timedelta(days=7):%d %b %Y}"
    page = text(admin_client.get(f"/admin/users/{person.id}/delete"))
    assert "The rest goes on <strong" in page and day in page
    reply = post(admin_client, f"/admin/users/{person.id}/delete",
                 f"/admin/users/{person.id}/delete", {"confirm_email": person.email})  # fmt: skip
    assert reply.status_code == 302
    listing = text(admin_client.get(reply.headers["Location"]))
    assert f"Their account and credentials are removed on {day}" in listing
    row = listing.split(f">{person.email}</a>", 1)[1].split("</tr>", 1)[0]
    assert f"Deletion on {day}" in row and "Cancel deletion" in row
    page = text(admin_client.get(f"/admin/users/{person.id}"))
    assert 'id="pending-deletion"' in page and "Delete…" not in page
    # Deleting again is blocked with the reason.
    page = text(admin_client.get(f"/admin/users/{person.id}/delete"))
    assert "is scheduled for deletion on" in page and 'name="confirm_email"' not in page


@pytest.mark.parametrize("typed", ["vera@example.org\x00", "\x00"])
def test_a_typed_email_with_a_nul_character_deletes_nothing(admin_client, person, db, typed):
    reply = post(admin_client, f"/admin/users/{person.id}/delete",
                 f"/admin/users/{person.id}/delete", {"confirm_email": typed})  # fmt: skip
    assert reply.status_code in (400, 422)
    assert stored(db, person).deletion_requested_at is None


def test_cancelling_re_enables_them_and_says_tokens_stay_revoked(admin_client, person, root, db):
    deletion.request_deletion(root, person.id, person.email)
    reply = post(admin_client, "/admin/users/", f"/admin/users/{person.id}/deletion/cancel")
    assert reply.status_code == 302
    page = text(admin_client.get(reply.headers["Location"]))
    assert "vera@example.org is kept and can sign in again." in page
    assert "Their API tokens stay revoked" in page
    assert not stored(db, person).disabled


def test_someone_disabled_before_stays_disabled_after_a_cancel(admin_client, person, root, db):
    users.disable(root, person.id)
    deletion.request_deletion(root, person.id, person.email)
    reply = post(admin_client, "/admin/users/", f"/admin/users/{person.id}/deletion/cancel")
    page = text(admin_client.get(reply.headers["Location"]))
    assert "stays disabled, as before the deletion" in page
    assert stored(db, person).disabled


def test_enabling_a_pending_user_is_refused(admin_client, person, root, db):
    deletion.request_deletion(root, person.id, person.email)
    reply = post(admin_client, "/admin/users/", f"/admin/users/{person.id}/enable")
    assert reply.status_code == 409 and "cancel the deletion" in text(reply)
    assert stored(db, person).disabled


def test_cancelling_too_late_or_a_purged_or_live_user_says_why(admin_client, person, root, db):
    reply = post(admin_client, "/admin/users/", f"/admin/users/{person.id}/deletion/cancel")
    assert reply.status_code == 409 and "is not scheduled for deletion" in text(reply)
    deletion.request_deletion(root, person.id, person.email)
    person.deletion_due_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    reply = post(admin_client, "/admin/users/", f"/admin/users/{person.id}/deletion/cancel")
    assert reply.status_code == 409 and "can no longer be kept" in text(reply)
    assert deletion.purge(person.id) is True
    reply = post(admin_client, "/admin/users/", f"/admin/users/{person.id}/deletion/cancel")
    assert reply.status_code == 404 and "removed for good" in text(reply)


def test_a_pending_user_cannot_sign_in_or_be_invited_again(app, admin_client, person, root):
    deletion.request_deletion(root, person.id, person.email)
    client = app.test_client()
    reply = log_in(client, person.email, factories.PASSWORD)
    assert reply.status_code != 302
    reply = post(admin_client, "/admin/users/invite", "/admin/users/invite",
                 {"email": person.email})  # fmt: skip
    assert reply.status_code == 422
    assert "belongs to an account scheduled for deletion on" in text(reply)
