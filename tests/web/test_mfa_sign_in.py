"""Signing in with MFA: the code after the password, backup codes, reuse, expiry, bad input."""

from __future__ import annotations

import dataclasses
import time

import pyotp
import pytest
from sqlalchemy import select

from app.extensions import redis_client
from app.models import AuditEvent, User
from app.services import mfa
from app.web.auth import mfa_views, throttle
from tests import factories
from tests.support import csrf_token_from, log_in

CHALLENGE = "/login/mfa"


def enrol(user: User) -> tuple[pyotp.TOTP, list[str]]:
    """MFA on for `user`, confirmed with the previous step's code so the current one is new."""
    secret = mfa.propose(user).secret
    totp = pyotp.TOTP(secret)
    codes = mfa.confirm(user, totp.at(time.time(), counter_offset=-1))
    return totp, codes


@pytest.fixture
def totp(user):
    totp, _ = enrol(user)
    yield totp
    redis_client().delete(f"ferry:mfa-failures:{user.id}")


@pytest.fixture
def failed_logins(monkeypatch):
    """The emails throttle.failed_login was told about."""
    seen: list[str] = []
    monkeypatch.setattr(throttle, "failed_login", seen.append)
    return seen


def submit_code(client, code, **kwargs):
    page = client.get(CHALLENGE)
    assert page.status_code == 200, page.status_code
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post(CHALLENGE, data={"code": code, "csrf_token": token}, **kwargs)


def signed_in(client) -> bool:
    return client.get("/profile/mfa").status_code == 200


def sign_in_methods(user) -> list[str]:
    return [
        e.changes.get("method")
        for e in mfa.db.session.scalars(
            select(AuditEvent).where(AuditEvent.item_id == user.id, AuditEvent.event == "signed_in")
        )
    ]


def test_the_password_alone_does_not_sign_in_a_user_with_mfa(client, user, totp):
    response = log_in(client, user.email, factories.PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == CHALLENGE
    assert not signed_in(client)
    page = client.get(CHALLENGE).get_data(as_text=True)
    assert "Authentication code" in page and 'autocomplete="one-time-code"' in page


def test_the_code_completes_sign_in_and_goes_where_the_user_was_going(client, user, totp):
    log_in(client, user.email, factories.PASSWORD, query_string={"next": "/profile/mfa"})
    response = submit_code(client, totp.now())
    assert response.status_code == 302
    assert response.headers["Location"] == "/profile/mfa"
    assert signed_in(client)
    assert sign_in_methods(user) == ["password+totp"]


def test_a_backup_code_signs_in_once(client, user):
    _, codes = enrol(user)
    log_in(client, user.email, factories.PASSWORD)
    response = submit_code(client, codes[3], follow_redirects=True)
    assert "You signed in with a backup code; 9 left." in response.get_data(as_text=True)
    assert sign_in_methods(user) == ["password+backup_code"]

    client.post("/logout", data={"csrf_token": csrf_token_from(response.get_data(as_text=True))})
    log_in(client, user.email, factories.PASSWORD)
    assert submit_code(client, codes[3]).status_code == 401
    assert not signed_in(client)


def test_a_code_used_once_is_refused_the_next_time(client, user, totp, failed_logins):
    code = totp.now()
    log_in(client, user.email, factories.PASSWORD)
    assert submit_code(client, code).status_code == 302
    page = client.get("/profile/mfa").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token_from(page)})

    log_in(client, user.email, factories.PASSWORD)
    refused = submit_code(client, code)
    assert refused.status_code == 401
    assert mfa_views.WRONG_CODE in refused.get_data(as_text=True)
    assert failed_logins == [user.email]
    assert not signed_in(client)


def test_a_replayed_post_with_the_old_session_cookie_is_refused(client, user, totp):
    log_in(client, user.email, factories.PASSWORD)
    page = client.get(CHALLENGE).get_data(as_text=True)
    before = client.get_cookie("session").value
    data = {"code": totp.now(), "csrf_token": csrf_token_from(page)}
    assert client.post(CHALLENGE, data=data).status_code == 302

    client.set_cookie("session", before)  # an attacker replays the captured request
    assert client.post(CHALLENGE, data=data).status_code == 401


def test_a_wrong_code_counts_as_a_failed_sign_in_and_keeps_the_challenge(
    client, user, totp, failed_logins
):
    log_in(client, user.email, factories.PASSWORD)
    wrong = f"{(int(totp.now()) + 1) % 1_000_000:06d}"
    response = submit_code(client, wrong)
    assert response.status_code == 401
    assert f'value="{wrong}"' not in response.get_data(as_text=True)
    assert failed_logins == [user.email]
    assert submit_code(client, totp.now()).status_code == 302


def test_too_many_wrong_codes_make_the_user_wait(app, client, user, totp, monkeypatch):
    settings = dataclasses.replace(app.config["FERRY_SETTINGS"], login_attempts_per_account=3)
    monkeypatch.setitem(app.config, "FERRY_SETTINGS", settings)
    log_in(client, user.email, factories.PASSWORD)
    for _ in range(3):
        assert submit_code(client, "999999x").status_code == 401
    locked = submit_code(client, totp.now())
    assert locked.status_code == 429
    assert "Too many wrong attempts. Try again in 15 minutes." in locked.get_data(as_text=True)
    assert not signed_in(client)


def test_the_challenge_expires_after_five_minutes(client, user, totp):
    log_in(client, user.email, factories.PASSWORD)
    page = client.get(CHALLENGE).get_data(as_text=True)
    with client.session_transaction() as session:
        session[mfa_views.PENDING]["at"] -= mfa_views.PENDING_SECONDS + 1
        session.modified = True
    response = client.post(
        CHALLENGE, data={"code": totp.now(), "csrf_token": csrf_token_from(page)}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert not signed_in(client)
    assert mfa_views.EXPIRED in client.get("/login").get_data(as_text=True)


@pytest.mark.parametrize(
    "pending",
    [None, "garbage", {"user_id": "not-a-uuid", "at": 0}, {"user_id": "x", "at": "now"}],
)
def test_a_missing_or_broken_challenge_sends_back_to_sign_in(client, user, pending):
    if pending is not None:
        with client.session_transaction() as session:
            session[mfa_views.PENDING] = pending
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    posted = client.post(CHALLENGE, data={"code": "123456", "csrf_token": token})
    for response in (client.get(CHALLENGE), posted):
        assert response.status_code == 302 and response.headers["Location"] == "/login"


def test_a_user_disabled_during_the_challenge_cannot_finish(client, user, totp, db):
    log_in(client, user.email, factories.PASSWORD)
    page = client.get(CHALLENGE).get_data(as_text=True)
    user.disabled = True
    db.session.commit()
    response = client.post(
        CHALLENGE, data={"code": totp.now(), "csrf_token": csrf_token_from(page)}
    )
    assert response.headers["Location"] == "/login"


@pytest.mark.parametrize(
    ("code", "status", "message"),
    [
        ("", 422, "Enter the 6-digit code"),
        ("   ", 422, "Enter the 6-digit code"),
        ("1" * 1000, 422, "too long for a code"),
        ("12\x003456", 400, "NUL character"),
        ("abcdef", 401, mfa_views.WRONG_CODE),
        ("١٢٣٤٥٦", 401, mfa_views.WRONG_CODE),  # digits, but not ASCII ones
        ("<script>", 401, mfa_views.WRONG_CODE),
    ],
)
def test_bad_codes_get_a_clear_answer_and_never_sign_in(client, user, totp, code, status, message):
    log_in(client, user.email, factories.PASSWORD)
    response = submit_code(client, code)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert not signed_in(client)


def test_a_post_without_the_csrf_token_is_refused(client, user, totp):
    log_in(client, user.email, factories.PASSWORD)
    response = client.post(CHALLENGE, data={"code": totp.now()})
    assert response.status_code == 400
    assert not signed_in(client)


def test_remember_me_is_kept_through_the_second_step(client, user, totp):
    page = client.get("/login").get_data(as_text=True)
    client.post(
        "/login",
        data={
            "email": user.email,
            "password": factories.PASSWORD,
            "remember": "y",
            "csrf_token": csrf_token_from(page),
        },
    )
    with client.session_transaction() as session:
        assert session[mfa_views.PENDING]["remember"] is True
    submit_code(client, totp.now())
    assert client.get_cookie("remember_token") is not None


def test_a_signed_in_user_opening_the_challenge_goes_to_the_projects(signed_in):
    response = signed_in.get(CHALLENGE)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert mfa_views.EXPIRED not in signed_in.get("/").get_data(as_text=True)
