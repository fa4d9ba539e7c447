"""Forgotten passwords through the pages (app/web/auth/reset_views.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import MailMessage, PasswordReset, User
from app.models.base import utcnow
from tests import factories
from tests.support import csrf_token_from, log_in

NEW_PASSWORD = "lemon tree by the river"
SENT = "If an account exists for"


def ask_for_link(client, email: str):
    page = client.get("/password/forgot")
    token = csrf_token_from(page.get_data(as_text=True))
    return client.post("/password/forgot", data={"email": email, "csrf_token": token})


def mailed_link(email: str) -> str:
    mail = db.session.scalar(
        select(MailMessage)
        .where(MailMessage.to_address == email)
        .order_by(MailMessage.inserted_at.desc())
        .limit(1)
    )
    return re.search(r"https?://[^/\s]+(/password/reset/\S+)", mail.text).group(1)


def choose(client, link: str, password: str, confirm: str | None = None):
    token = csrf_token_from(client.get(link).get_data(as_text=True))
    data = {"password": password, "confirm": password if confirm is None else confirm}
    return client.post(link, data={**data, "csrf_token": token})


def test_login_page_links_to_the_forgot_page(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'href="/password/forgot"' in html and "Forgot your password?" in html
    assert client.get("/password/forgot").status_code == 200


def test_known_and_unknown_addresses_get_the_same_answer(client, user):
    known = ask_for_link(client, user.email)
    unknown = ask_for_link(client, "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    # The page body is the same word for word, the address aside.
    bodies = [
        r.get_data(as_text=True).replace(e, "EMAIL").split("<main", 1)[1]
        for r, e in ((known, user.email), (unknown, "nobody@example.org"))
    ]
    assert bodies[0] == bodies[1]
    assert SENT in known.get_data(as_text=True) and SENT in unknown.get_data(as_text=True)
    recipients = db.session.scalars(select(MailMessage.to_address)).all()
    assert recipients == [user.email]


@pytest.mark.parametrize(
    ("email", "says"),
    [("", "Enter your email address"), ("x" * 321, "320")],
    ids=["empty", "too-long"],
)
def test_forgot_form_shape_errors(client, email, says):
    response = ask_for_link(client, email)
    assert response.status_code == 422
    assert says in response.get_data(as_text=True)


def test_forgot_form_with_nul_is_refused(client):
    response = ask_for_link(client, "a\x00@example.org")
    assert response.status_code == 400
    assert db.session.scalars(select(PasswordReset)).all() == []


def test_reset_signs_in_afresh_and_ends_other_sessions(app, client, user):
    elsewhere = app.test_client()
    assert log_in(elsewhere, user.email, factories.PASSWORD).status_code == 302
    assert elsewhere.get("/").status_code == 200
    ask_for_link(client, user.email)
    link = mailed_link(user.email)
    response = choose(client, link, NEW_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200  # signed in by the reset
    gone = elsewhere.get("/")
    assert gone.status_code == 302 and "/login" in gone.headers["Location"]
    assert db.session.get(User, user.id).password_changed_at is not None
    assert log_in(app.test_client(), user.email, NEW_PASSWORD).status_code == 302
    assert log_in(app.test_client(), user.email, factories.PASSWORD).status_code == 401
    # The link worked once.
    again = app.test_client().get(link)
    assert again.status_code == 410 and "already used" in again.get_data(as_text=True)


def test_users_with_mfa_are_sent_to_sign_in_instead(client, user):
    user.totp_confirmed_at = utcnow()
    db.session.commit()
    ask_for_link(client, user.email)
    response = choose(client, mailed_link(user.email), NEW_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "Password changed; sign in" in client.get("/login").get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_expired_link_answers_410_with_a_way_forward(client, user):
    ask_for_link(client, user.email)
    link = mailed_link(user.email)
    reset = db.session.scalar(select(PasswordReset))
    reset.expires_at = datetime.now(UTC) - timedelta(minutes=1)
    db.session.commit()
    token = csrf_token_from(client.get("/password/forgot").get_data(as_text=True))
    sent = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": token}
    for response in (client.get(link), client.post(link, data=sent)):
        assert response.status_code == 410
        html = response.get_data(as_text=True)
        assert "expired" in html and 'href="/password/forgot"' in html


@pytest.mark.parametrize("token", ["nope", "a" * 43, "a" * 300, "-_-", "x'or'1'='1"])
def test_crafted_tokens_answer_404_saying_so(client, user, token):
    ask_for_link(client, user.email)
    response = client.get(f"/password/reset/{token}")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "This reset link is not valid" in html and 'href="/password/forgot"' in html
    csrf = csrf_token_from(client.get("/password/forgot").get_data(as_text=True))
    sent = {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": csrf}
    assert client.post(f"/password/reset/{token}", data=sent).status_code == 404
    assert db.session.scalar(select(PasswordReset)).used_at is None


@pytest.mark.parametrize("path", ["%2e%2e%2f", "..%00", "a%00b"])
def test_tokens_with_path_tricks_or_nul_never_reach_a_reset(client, path):
    assert client.get(f"/password/reset/{path}").status_code in (400, 404)


@pytest.mark.parametrize(
    ("password", "confirm", "says"),
    [
        ("", "", "Choose a password"),
        ("short-one", None, "at least 12"),
        ("a" * 60 + "b" * 69, None, "at most 128"),
        ("password1234", None, "commonly used"),
        ("qwertyuiop[]", None, "too easy"),
        (NEW_PASSWORD, "something else entirely", "differ"),
    ],
    ids=["empty", "11ish", "129", "common", "keyboard", "mismatch"],
)
def test_bad_new_passwords_say_what_to_fix_and_keep_the_link(client, user, password, confirm, says):
    ask_for_link(client, user.email)
    link = mailed_link(user.email)
    response = choose(client, link, password, confirm)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert says in html
    if password:
        assert f'value="{password}"' not in html
    assert db.session.scalar(select(PasswordReset)).used_at is None
    assert client.get(link).status_code == 200


def test_eleven_characters_and_nul_are_refused(client, user):
    ask_for_link(client, user.email)
    link = mailed_link(user.email)
    assert "at least 12" in choose(client, link, "abcdefghijk").get_data(as_text=True)
    assert choose(client, link, "good river lemon\x00").status_code == 400
    assert db.session.scalar(select(PasswordReset)).used_at is None


def test_one_address_asking_too_often_is_told_when_to_try_again(client, user, monkeypatch):
    from app.web.auth import reset_views

    monkeypatch.setattr(reset_views, "REQUESTS_PER_ADDRESS", 3)
    for email in ("a@example.org", "b@example.org", "c@example.org"):
        assert ask_for_link(client, email).status_code == 200
    refused = ask_for_link(client, user.email)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert "Try again in 15 minutes" in refused.get_data(as_text=True)
    assert db.session.scalars(select(MailMessage)).all() == []
