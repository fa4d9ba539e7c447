"""The profile page: account, password change, personal API tokens (through the real API),
and signing out everywhere."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import ApiToken, AuditEvent
from app.models.base import utcnow
from app.services import accounts, api_tokens
from tests import factories
from tests.support import log_in, post_form

NEW_PASSWORD = "pelican harbour lantern 42"
TOKEN = re.compile(r'value="(fry_[A-Za-z0-9_-]+)"')


def _token_count(user) -> int:
    return db.session.scalar(
        select(func.count()).select_from(ApiToken).where(ApiToken.user_id == user.id)
    )


def _events(item_id) -> list[str]:
    rows = db.session.scalars(select(AuditEvent.event).where(AuditEvent.item_id == item_id)).all()
    return list(rows)


def _create(client, **data):
    return post_form(client, "/profile", "/profile/tokens", {"name": "", **data})


def _api(client, token):
    return client.get("/api/v1/projects", headers={"Authorization": f"Bearer {token}"})


def test_the_profile_needs_a_signed_in_user(client):
    response = client.get("/profile")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_the_profile_shows_the_account_and_its_actions(signed_in, user):
    html = signed_in.get("/profile").get_data(as_text=True)
    assert user.email in html and "Test Person" in html
    assert "Change password" in html and "Sign out everywhere" in html
    assert "No tokens yet" in html
    assert ('href="/profile/mfa"' in html) == signed_in.application.view_functions.__contains__(
        "profile.mfa"
    )


def test_the_user_menu_links_to_the_profile(signed_in):
    assert 'href="/profile"' in signed_in.get("/").get_data(as_text=True)


# --- tokens -----------------------------------------------------------------------------


def test_a_created_token_is_shown_once_and_works_on_the_api(signed_in, user):
    response = _create(signed_in, name="Nightly export", expires_on="")
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    token = TOKEN.search(html).group(1)
    assert "only time Ferry shows this token" in html
    assert _api(signed_in, token).status_code == 200
    profile = signed_in.get("/profile").get_data(as_text=True)
    assert "Nightly export" in profile and token[:10] in profile and token not in profile
    row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert row.last_used_at is not None
    assert _events(row.id) == ["created"]


def test_a_token_with_an_expiry_lists_its_last_day(signed_in, user):
    last_day = (utcnow() + timedelta(days=30)).date()
    response = _create(signed_in, name="Pilot", expires_on=last_day.isoformat())
    assert response.status_code == 201
    assert f"until the end of {last_day.strftime('%d %b %Y')}" in response.get_data(as_text=True)
    profile = signed_in.get("/profile").get_data(as_text=True)
    assert f"after {last_day.strftime('%d %b %Y')}" in profile


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        ({"name": ""}, 422, "Give the token a name"),
        ({"name": "   "}, 422, "Give the token a name"),
        ({"name": "x" * 1000}, 422, "at most 200 characters"),
        ({"name": "bad\x00name"}, 400, "NUL character"),
        ({"name": "ok", "expires_on": "2001-01-01"}, 422, "in the past"),
        ({"name": "ok", "expires_on": "31/12/2030"}, 422, "YYYY-MM-DD"),
        ({"name": "ok", "expires_on": "2030-02-30"}, 422, "YYYY-MM-DD"),
        ({"name": "ok", "expires_on": "9999-12-31"}, 422, "within five years"),
        ({"name": "ok", "expires_on": "2030-01-01\x00"}, 400, "NUL character"),
    ],
)
def test_bad_token_input_is_explained_and_nothing_is_stored(signed_in, user, data, status, message):
    response = _create(signed_in, **data)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert _token_count(user) == 0


def test_the_form_keeps_what_was_typed_after_an_error(signed_in):
    html = _create(signed_in, name="Keep me", expires_on="2001-01-01").get_data(as_text=True)
    assert 'value="Keep me"' in html


def test_a_revoked_token_answers_401_on_the_api_at_once(signed_in, user):
    token = TOKEN.search(_create(signed_in, name="Script").get_data(as_text=True)).group(1)
    assert _api(signed_in, token).status_code == 200
    row = db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    response = post_form(signed_in, "/profile", f"/profile/tokens/{row.id}/revoke", {})
    assert response.status_code == 302
    refused = _api(signed_in, token)
    assert refused.status_code == 401
    assert "valid API token" in refused.get_json()["error"]
    page = signed_in.get("/profile").get_data(as_text=True)
    assert "Token “Script” revoked" in page and "Revoked" in page
    assert _events(row.id) == ["created", "revoked"]


def test_revoking_someone_elses_token_is_404_and_it_keeps_working(signed_in, client):
    other = factories.user()
    row, token = api_tokens.create_token(other.id, "Theirs")
    response = post_form(signed_in, "/profile", f"/profile/tokens/{row.id}/revoke", {})
    assert response.status_code == 404
    assert _api(client, token).status_code == 200


@pytest.mark.parametrize(
    "token_id", ["5bf30cc1-a23f-4ab9-9cf4-0486f2ebde4a", "not-a-uuid", "1", "%00"]
)
def test_revoking_a_made_up_token_is_404(signed_in, token_id):
    response = post_form(signed_in, "/profile", f"/profile/tokens/{token_id}/revoke", {})
    assert response.status_code in (400, 404)
    assert response.status_code < 500


def test_revoking_without_the_csrf_token_is_refused(signed_in, user):
    row, token = api_tokens.create_token(user.id, "Script")
    response = signed_in.post(f"/profile/tokens/{row.id}/revoke")
    assert response.status_code == 400
    assert api_tokens.user_for_token(token) is not None


# --- password ---------------------------------------------------------------------------


def _change(client, current, new):
    return post_form(
        client,
        "/profile",
        "/profile/password",
        {"current_password": current, "new_password": new},
    )


def test_changing_the_password_signs_out_the_other_sessions_only(signed_in, user, app):
    other = app.test_client()
    assert log_in(other, user.email, factories.PASSWORD).status_code == 302
    assert other.get("/").status_code == 200
    response = _change(signed_in, factories.PASSWORD, NEW_PASSWORD)
    assert response.status_code == 302
    page = signed_in.get("/profile")  # this browser stays signed in
    assert page.status_code == 200
    assert "Password changed. Your other sessions have been signed out." in page.get_data(
        as_text=True
    )
    gone = other.get("/")
    assert gone.status_code == 302 and gone.headers["Location"].startswith("/login")
    db.session.refresh(user)
    assert user.password_changed_at is not None
    assert accounts.authenticate(user.email, NEW_PASSWORD) is not None
    assert accounts.authenticate(user.email, factories.PASSWORD) is None
    assert "password_changed" in _events(user.id)


def test_a_kept_signed_in_browser_gets_a_new_remember_cookie_when_it_changes_the_password(
    app, user
):
    browser = app.test_client()
    remembered = {"email": user.email, "password": factories.PASSWORD, "remember": "y"}
    assert post_form(browser, "/login", "/login", remembered).status_code == 302
    old = browser.get_cookie("remember_token").value
    assert _change(browser, factories.PASSWORD, NEW_PASSWORD).status_code == 302
    new = browser.get_cookie("remember_token").value
    assert new != old
    # The old cookie (signed out everywhere) opens nothing; the new one still signs in.
    stale = app.test_client()
    stale.set_cookie("remember_token", old)
    assert stale.get("/").status_code == 302
    fresh = app.test_client()
    fresh.set_cookie("remember_token", new)
    assert fresh.get("/").status_code == 200


@pytest.mark.parametrize(
    ("current", "new", "status", "message"),
    [
        ("wrong password entirely", NEW_PASSWORD, 422, "not your current password"),
        ("", NEW_PASSWORD, 422, "Enter your current password"),
        (factories.PASSWORD, "", 422, "Enter a new password"),
        (factories.PASSWORD, "short", 422, "at least 12 characters"),
        (factories.PASSWORD, "x" * 200, 422, "at most 128 characters"),
        (factories.PASSWORD, "password1234", 422, "commonly used passwords"),
        (factories.PASSWORD, "aaaaaaaaaaaaaaaa", 422, "too easy to guess"),
        (factories.PASSWORD, factories.PASSWORD, 422, "same as the current one"),
        (factories.PASSWORD, "pelican\x00harbour lantern", 400, "NUL character"),
    ],
)
def test_bad_password_changes_are_explained_and_change_nothing(
    signed_in, user, current, new, status, message
):
    before = user.password_hash
    response = _change(signed_in, current, new)
    assert response.status_code == status
    html = response.get_data(as_text=True)
    assert message in html
    assert not new or f'value="{new}"' not in html  # passwords are never sent back
    db.session.refresh(user)
    assert user.password_hash == before and user.password_changed_at is None
    assert signed_in.get("/profile").status_code == 200


# --- sign out everywhere ------------------------------------------------------------------


def test_sign_out_everywhere_ends_the_other_sessions_and_keeps_this_one(signed_in, user, app):
    other = app.test_client()
    remembered = {"email": user.email, "password": factories.PASSWORD, "remember": "y"}
    assert post_form(other, "/login", "/login", remembered).status_code == 302
    response = post_form(signed_in, "/profile", "/profile/sign-out-everywhere", {})
    assert response.status_code == 302
    page = signed_in.get("/profile")
    assert page.status_code == 200
    assert "Signed out everywhere else" in page.get_data(as_text=True)
    gone = other.get("/")
    assert gone.status_code == 302 and gone.headers["Location"].startswith("/login")
    assert "signed_out_everywhere" in _events(user.id)


def test_signing_out_is_audited(signed_in, user):
    response = post_form(signed_in, "/", "/logout", {})
    assert response.status_code == 302
    assert "signed_out" in _events(user.id)
