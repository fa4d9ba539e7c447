"""Where MFA is required: a project's members (superusers included) and, with
FERRY_SUPERUSER_MFA=required, every superuser are sent to enrol first."""

from __future__ import annotations

import dataclasses
import re
import time

import pyotp
import pytest

from app.models import Role
from app.services import accounts, mfa
from tests import factories
from tests.support import csrf_token_from, log_in

ENROL = "/profile/mfa/enrol"


@pytest.fixture
def strict_project(project, db):
    project.require_mfa = True
    db.session.commit()
    return project


@pytest.fixture
def superusers_must_enrol(app, monkeypatch):
    strict = dataclasses.replace(app.config["FERRY_SETTINGS"], superuser_mfa_required=True)
    monkeypatch.setitem(app.config, "FERRY_SETTINGS", strict)


def enrol(user) -> pyotp.TOTP:
    totp = pyotp.TOTP(mfa.propose(user).secret)
    mfa.confirm(user, totp.at(time.time(), counter_offset=-1))
    return totp


def sign_in(client, user, totp: pyotp.TOTP | None = None):
    log_in(client, user.email, factories.PASSWORD)
    if totp is not None:
        page = client.get("/login/mfa").get_data(as_text=True)
        client.post("/login/mfa", data={"code": totp.now(), "csrf_token": csrf_token_from(page)})
    return client


def test_a_member_without_mfa_is_sent_to_enrol_and_comes_back(signed_in, strict_project):
    page_url = f"/projects/{strict_project.id}/dashboard?period=7d"
    response = signed_in.get(page_url)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(ENROL + "?next=")

    enrol_page = signed_in.get(location).get_data(as_text=True)
    assert "Clinic intake requires two-factor authentication." in enrol_page
    secret = re.search(r'id="mfa-secret"[^>]*>([A-Z2-7 ]+)<', enrol_page).group(1)
    code = pyotp.TOTP(secret.replace(" ", "")).now()
    codes_page = signed_in.post(
        location, data={"code": code, "csrf_token": csrf_token_from(enrol_page)}
    ).get_data(as_text=True)
    assert f'href="{page_url}"' in codes_page
    assert signed_in.get(page_url).status_code == 200


def test_htmx_and_form_posts_get_403_with_the_reason(signed_in, strict_project):
    fragment = signed_in.get(
        f"/projects/{strict_project.id}/dashboard", headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 403
    assert "Clinic intake requires two-factor authentication." in fragment.get_data(as_text=True)
    as_json = signed_in.get(
        f"/projects/{strict_project.id}", headers={"Accept": "application/json"}
    )
    assert as_json.status_code == 403
    assert "requires two-factor authentication" in as_json.get_json()["error"]


def test_the_api_refuses_a_token_whose_user_has_no_mfa(client, user, strict_project):
    token = accounts.create_api_token(user.email)
    response = client.get(
        f"/api/v1/projects/{strict_project.id}/workflows",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 403
    assert "Clinic intake requires two-factor authentication" in response.get_json()["error"]

    enrol(user)
    response = client.get(
        f"/api/v1/projects/{strict_project.id}/workflows",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200


def test_members_with_mfa_and_projects_without_the_rule_are_let_through(client, user, project):
    other = factories.project(user, "Open project")
    project.require_mfa = True
    totp = enrol(user)
    sign_in(client, user, totp)
    assert client.get(f"/projects/{project.id}").status_code == 200
    assert client.get(f"/projects/{other.id}").status_code == 200


def test_outsiders_still_get_404_not_a_hint_that_mfa_is_required(client, strict_project):
    outsider = factories.user()
    sign_in(client, outsider)
    assert client.get(f"/projects/{strict_project.id}").status_code == 404


def test_a_viewer_is_sent_to_enrol_too(client, strict_project):
    viewer = factories.user()
    factories.member(strict_project, viewer, Role.VIEWER)
    sign_in(client, viewer)
    assert client.get(f"/projects/{strict_project.id}").headers["Location"].startswith(ENROL)


def test_superusers_acting_in_a_project_that_requires_mfa_need_it_too(client, strict_project):
    superuser = factories.user(superuser=True)
    sign_in(client, superuser)
    assert client.get(f"/projects/{strict_project.id}").headers["Location"].startswith(ENROL)


def test_superusers_must_enrol_before_any_page_when_required(client, superusers_must_enrol):
    superuser = factories.user(superuser=True)
    sign_in(client, superuser)
    for url in ("/", "/credentials", "/projects/new"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith(ENROL + "?next=")
    page = client.get(ENROL)
    assert page.status_code == 200
    assert "Superusers on this Ferry must use two-factor authentication." in page.get_data(
        as_text=True
    )
    assert client.get("/profile/mfa").status_code == 200
    htmx = client.get("/", headers={"HX-Request": "true"})
    assert htmx.status_code == 403
    signed_out = client.post("/logout", data={"csrf_token": csrf_token_from(page.text)})
    assert signed_out.headers["Location"] == "/login"


def test_superusers_with_mfa_and_other_users_are_not_stopped(client, superusers_must_enrol):
    sign_in(client, factories.user())
    assert client.get("/").status_code == 200

    superuser = factories.user(superuser=True)
    totp = enrol(superuser)
    client.post("/logout", data={"csrf_token": csrf_token_from(client.get("/").text)})
    sign_in(client, superuser, totp)
    assert client.get("/").status_code == 200


def test_superusers_are_not_stopped_when_the_setting_is_off(client):
    sign_in(client, factories.user(superuser=True))
    assert client.get("/").status_code == 200
