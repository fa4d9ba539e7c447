"""Self sign-up (app/web/auth/signup_views.py): off by default, FERRY_ALLOW_SIGNUP opens it."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, ProjectMember, User
from tests import factories
from tests.support import csrf_token_from

PASSWORD = "lemon tree by the river"


@pytest.fixture
def open_signup(app, monkeypatch):
    """Sign-up allowed for this test only."""
    settings = dataclasses.replace(app.config["FERRY_SETTINGS"], allow_signup=True)
    monkeypatch.setitem(app.config, "FERRY_SETTINGS", settings)


def sign_up(client, **fields):
    token = csrf_token_from(client.get("/signup").get_data(as_text=True))
    data = {"name": "Ana Silva", "email": "ana@example.org", "password": PASSWORD}
    data.update(fields)
    data.setdefault("confirm", data["password"])
    return client.post("/signup", data={**data, "csrf_token": token})


def test_signup_is_off_by_default(client):
    assert client.get("/signup").status_code == 404
    assert client.post("/signup", data={"email": "a@example.org"}).status_code in (400, 404)
    assert "Create an account" not in client.get("/login").get_data(as_text=True)


def test_signup_creates_a_user_in_no_project_and_signs_them_in(client, open_signup):
    assert 'href="/signup"' in client.get("/login").get_data(as_text=True)
    response = sign_up(client, email="Ana@Example.org")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    user = db.session.scalar(select(User).where(User.email == "ana@example.org"))
    assert user.name == "Ana Silva" and not user.is_superuser
    assert (
        db.session.scalars(select(ProjectMember).where(ProjectMember.user_id == user.id)).all()
        == []
    )
    assert client.get("/").status_code == 200
    events = set(db.session.scalars(select(AuditEvent.event).where(AuditEvent.item_id == user.id)))
    assert {"signed_up", "signed_in"} <= events


def test_signed_in_people_are_sent_to_their_projects(signed_in, open_signup):
    response = signed_in.get("/signup")
    assert response.status_code == 302 and response.headers["Location"] == "/"


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"email": ""}, "Enter your email address"),
        ({"email": "not-an-email"}, "not valid"),
        ({"email": "a" * 321}, "320"),
        ({"password": "", "confirm": ""}, "Choose a password"),
        ({"password": "abcdefghijk"}, "at least 12"),
        ({"password": "river lemon " * 10 + "tree ok!!"}, "at most 128"),
        ({"password": "password1234"}, "commonly used"),
        ({"email": "silvana@example.org", "password": "silvana rows rivers"}, "your email"),
        ({"confirm": "something different"}, "differ"),
        ({"name": "n" * 201}, "200"),
    ],
    ids=[
        "no-email",
        "bad-email",
        "long-email",
        "no-password",
        "11",
        "129",
        "common",
        "email-name",
        "mismatch",
        "long-name",
    ],
)
def test_bad_input_says_what_to_fix_and_stores_nothing(client, open_signup, fields, says):
    response = sign_up(client, **fields)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert says in html
    if fields.get("password"):
        assert fields["password"] not in html
    emails = {"ana@example.org", fields.get("email", "")}
    assert db.session.scalars(select(User).where(User.email.in_(emails))).all() == []


def test_nul_characters_are_refused(client, open_signup):
    response = sign_up(client, name="Ana\x00")
    assert response.status_code == 400
    response = sign_up(client, password="good river lemon\x00")
    assert response.status_code == 400
    assert db.session.scalar(select(User).where(User.email == "ana@example.org")) is None


def test_an_existing_email_is_refused(client, open_signup, user):
    response = sign_up(client, email=user.email)
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)
    assert db.session.get(User, user.id).name == "Test Person"
    assert factories.PASSWORD != PASSWORD


def test_addresses_of_an_sso_only_domain_are_sent_to_their_provider(client, open_signup):
    from app.models import OidcProvider

    db.session.add(
        OidcProvider(
            name="Ministry login",
            slug="ministry",
            discovery_url="https://idp.example.org/.well-known/openid-configuration",
            client_id="ferry",
            client_secret_encrypted=b"not-used-here",
            allowed_domains=["health.example.org"],
            sso_only=True,
            enabled=True,
        )
    )
    db.session.commit()
    response = sign_up(client, email="nurse@health.example.org")
    assert response.status_code == 403
    assert "sign in with Ministry login" in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.email == "nurse@health.example.org")) is None
