"""The invitation page: what the emailed link opens, and every way a link can be bad."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.models import Invitation, ProjectMember, Role, User
from app.models.base import utcnow
from app.services import invitations
from tests import factories
from tests.services.test_invitations import token_from_mail
from tests.support import csrf_token_from

GOOD = {"name": "Amina Diallo", "password": "river lantern cobalt 42", "confirm": ""}
GOOD["confirm"] = GOOD["password"]


@pytest.fixture
def token(db, user, project):
    """The token of a pending invitation to `project` as editor."""
    invitations.invite("amina@example.org", user, project, Role.EDITOR)
    return token_from_mail(db, "amina@example.org")


def accept(client, token: str, data: dict):
    page = client.get(f"/invitations/{token}")
    csrf = csrf_token_from(page.get_data(as_text=True))
    return client.post(f"/invitations/{token}", data={**data, "csrf_token": csrf})


def test_the_page_says_who_invited_whom_to_what(client, user, project, token):
    response = client.get(f"/invitations/{token}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "amina@example.org" in page and project.name in page
    assert user.name in page and "editor" in page
    assert 'autocomplete="new-password"' in page


def test_accepting_signs_in_and_opens_the_project(client, db, project, token):
    response = accept(client, token, GOOD)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/projects/{project.id}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Welcome to “Clinic intake”" in page and "your role: editor" in page
    person = db.session.scalar(select(User).where(User.email == "amina@example.org"))
    assert person.name == "Amina Diallo"
    member = db.session.scalar(select(ProjectMember).where(ProjectMember.user_id == person.id))
    assert member.role is Role.EDITOR


def test_the_link_works_once(app, client, db, token):
    assert accept(client, token, GOOD).status_code == 302
    other = app.test_client()
    response = other.get(f"/invitations/{token}")
    assert response.status_code == 410
    assert "already used" in response.get_data(as_text=True)
    csrf = csrf_token_from(other.get("/login").get_data(as_text=True))
    again = other.post(f"/invitations/{token}", data={**GOOD, "csrf_token": csrf})
    assert again.status_code == 410


def test_an_expired_link_names_who_to_ask(client, db, user, token):
    invitation = db.session.scalar(select(Invitation))
    invitation.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    response = client.get(f"/invitations/{token}")
    assert response.status_code == 410
    assert f"This invitation has expired — ask {user.name} for a new one" in response.get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    "crafted",
    [
        "made-up-token",
        "x" * 43,
        "y" * 5000,
        "..%2e..%5cetc",
        "' OR 1=1 --",
        "ÿ" * 10,
    ],
)
def test_unknown_or_crafted_tokens_get_a_clear_404(client, db, token, crafted):
    response = client.get(f"/invitations/{crafted}")
    assert response.status_code == 404
    assert "This invitation link does not work" in response.get_data(as_text=True)


def test_a_nul_character_or_a_slash_in_the_link_is_refused(client, db, token):
    assert client.get("/invitations/abc%00def").status_code == 400
    assert client.get(f"/invitations/{token}/..%2f..%2fetc").status_code == 404


def test_a_replaced_invitation_s_old_link_is_dead(client, db, user, project, token):
    invitations.invite("amina@example.org", user, project, Role.VIEWER)
    assert client.get(f"/invitations/{token}").status_code == 404


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"password": "", "confirm": ""}, "Choose a password"),
        ({"password": "short", "confirm": "short"}, "at least 12"),
        ({"password": "p" * 129, "confirm": "p" * 129}, "128"),
        ({"password": "password1234", "confirm": "password1234"}, "commonly used"),
        ({"confirm": "something else entirely"}, "not the same"),
        ({"name": "n" * 201}, "200"),
    ],
)
def test_bad_choices_keep_the_page_and_store_nothing(client, db, token, changes, words):
    response = accept(client, token, {**GOOD, **changes})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert words in page
    assert GOOD["password"] not in page  # passwords are never sent back
    assert db.session.scalar(select(User).where(User.email == "amina@example.org")) is None
    assert db.session.scalar(select(Invitation)).accepted_at is None


def test_nul_characters_in_the_form_are_refused(client, db, token):
    response = accept(client, token, {**GOOD, "name": "Ami\x00na"})
    assert response.status_code == 400
    assert db.session.scalar(select(Invitation)).accepted_at is None


def test_an_invitation_without_a_project_opens_the_projects_list(client, db):
    root = factories.user(superuser=True)
    invitations.invite("solo@example.org", invited_by=root)
    solo = token_from_mail(db, "solo@example.org")
    assert "to Ferry" in client.get(f"/invitations/{solo}").get_data(as_text=True)
    response = accept(client, solo, GOOD)
    assert response.status_code == 302 and response.headers["Location"].endswith("/")
