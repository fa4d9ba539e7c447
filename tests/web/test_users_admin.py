"""The superuser users pages (app/web/users): list and search, invite, rights, disable, delete."""

from __future__ import annotations

import uuid

import pyotp
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, Credential, Invitation, MailMessage, MfaBackupCode, User
from app.services import accounts, mfa
from tests import factories
from tests.support import csrf_token_from, log_in


@pytest.fixture
def person(db):
    return accounts.create_user("vera@example.org", factories.PASSWORD, name="Vera Lopes")


def post(client, page_url: str, action_url: str, data: dict | None = None):
    """Submit a form of `page_url` to `action_url`, with the page's CSRF token."""
    token = csrf_token_from(client.get(page_url).get_data(as_text=True))
    return client.post(action_url, data={**(data or {}), "csrf_token": token})


def user_url(user, suffix: str = "") -> str:
    return f"/admin/users/{user.id}{suffix}"


def test_others_get_404_and_anonymous_people_are_sent_to_sign_in(app, signed_in, person):
    for url in (
        "/admin/users/",
        user_url(person),
        "/admin/users/invite",
        user_url(person, "/delete"),
    ):
        assert signed_in.get(url).status_code == 404
    assert signed_in.post(user_url(person, "/disable")).status_code in (400, 404)
    anonymous = app.test_client()
    response = anonymous.get("/admin/users/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_user_menu_links_superusers_to_the_users_page(admin_client, signed_in):
    assert 'href="/admin/users/"' in admin_client.get("/").get_data(as_text=True)
    assert 'href="/admin/users/"' not in signed_in.get("/").get_data(as_text=True)


def test_list_shows_users_and_searches_by_email_or_name(admin_client, person, root):
    html = admin_client.get("/admin/users/").get_data(as_text=True)
    assert person.email in html and root.email in html
    html = admin_client.get("/admin/users/?q=lopes").get_data(as_text=True)
    results = html.split('id="users-results"', 1)[1]
    assert person.email in results and root.email not in results
    html = admin_client.get("/admin/users/?q=nobody-like-this").get_data(as_text=True)
    assert "No user matches “nobody-like-this”" in html


@pytest.mark.parametrize("query", ["%", "_", "%%__", "\\", "'; drop table users; --", "<b>"])
def test_odd_search_characters_are_matched_literally(admin_client, person, query):
    response = admin_client.get("/admin/users/", query_string={"q": query})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert person.email not in html
    assert "<b>" not in html.replace("&lt;b&gt;", "")


def test_search_with_nul_or_too_long_answers_4xx_saying_what_to_fix(admin_client, person):
    response = admin_client.get("/admin/users/?q=a%00b")
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)
    response = admin_client.get("/admin/users/", query_string={"q": "x" * 201})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "at most 200 characters" in html and person.email in html


def test_htmx_search_answers_the_results_fragment(admin_client, person):
    response = admin_client.get("/admin/users/?q=vera", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert person.email in html and "<html" not in html


def test_pages_follow_each_other(admin_client, monkeypatch):
    from app.services import users

    monkeypatch.setattr(users, "PAGE_SIZE", 2)
    for n in range(3):
        accounts.create_user(f"pager{n}@example.org", factories.PASSWORD)
    first = admin_client.get("/admin/users/?q=pager").get_data(as_text=True)
    assert "pager0@" in first and "pager1@" in first and "pager2@" not in first
    assert "after=pager1" in first and "First page" not in first
    second = admin_client.get("/admin/users/?q=pager&after=pager1%40example.org")
    html = second.get_data(as_text=True)
    assert "pager2@" in html and "pager1@" not in html and "First page" in html


@pytest.mark.parametrize(
    "url", ["/admin/users/{id}", "/admin/users/{id}/delete"], ids=["show", "delete"]
)
def test_unknown_or_malformed_ids_are_404(admin_client, url):
    assert admin_client.get(url.format(id=uuid.uuid4())).status_code == 404
    assert admin_client.get(url.format(id="not-a-uuid")).status_code == 404
    assert admin_client.get(url.format(id="1 OR 1=1")).status_code == 404


def test_actions_on_unknown_users_are_404(admin_client, root):
    ghost = uuid.uuid4()
    for action in ("disable", "enable", "superuser", "superuser/revoke", "delete",
                   "deletion/cancel"):  # fmt: skip
        response = post(admin_client, "/admin/users/", f"/admin/users/{ghost}/{action}")
        assert response.status_code == 404, action


def test_user_page_shows_projects_and_credentials(admin_client, person):
    project = factories.project(person, "Clinic intake")
    factories.shared_dhis2_credential(person, project, "pw-never-shown")
    html = admin_client.get(user_url(person)).get_data(as_text=True)
    assert "Clinic intake" in html and "Owner" in html.title()
    assert "DHIS2 live" in html and "pw-never-shown" not in html


def test_invite_sends_a_mail_and_refuses_existing_or_bad_addresses(admin_client, root, person):
    response = post(admin_client, "/admin/users/invite", "/admin/users/invite",
                    {"email": "New.Person@Example.org"})  # fmt: skip
    assert response.status_code == 302
    invitation = db.session.scalar(
        select(Invitation).where(Invitation.email == "new.person@example.org")
    )
    assert invitation is not None and invitation.invited_by_id == root.id
    assert invitation.project_id is None
    mail = db.session.scalar(select(MailMessage).where(MailMessage.to_address == invitation.email))
    assert "/invitations/" in mail.text
    for bad, says in [
        ("", "Enter the email address"),
        ("not-an-email", "not valid"),
        (person.email, "already has an account"),
        ("a" * 330 + "@example.org", "320"),
    ]:
        response = post(admin_client, "/admin/users/invite", "/admin/users/invite", {"email": bad})
        assert response.status_code == 422, bad
        assert says in response.get_data(as_text=True), bad


def test_making_and_unmaking_a_superuser_is_audited(app, admin_client, person):
    theirs = app.test_client()
    assert log_in(theirs, person.email, factories.PASSWORD).status_code == 302
    assert post(admin_client, user_url(person), user_url(person, "/superuser")).status_code == 302
    assert db.session.get(User, person.id).is_superuser
    # More rights start with a fresh sign-in: the session from before ends.
    assert theirs.get("/").status_code == 302
    assert log_in(theirs, person.email, factories.PASSWORD).status_code == 302
    assert theirs.get("/admin/users/").status_code == 200
    response = post(admin_client, user_url(person), user_url(person, "/superuser/revoke"))
    assert response.status_code == 302
    assert not db.session.get(User, person.id).is_superuser
    logged = db.session.scalars(select(AuditEvent.event).where(AuditEvent.item_id == person.id))
    assert {"superuser_granted", "superuser_revoked"} <= set(logged)


def test_the_last_superuser_cannot_unmake_themselves(admin_client, root):
    for other in db.session.scalars(
        select(User).where(User.is_superuser.is_(True), User.id != root.id)
    ):
        other.is_superuser = False  # fmt: skip
    db.session.commit()
    response = post(admin_client, user_url(root), user_url(root, "/superuser/revoke"))
    assert response.status_code == 409
    assert "only active superuser" in response.get_data(as_text=True)
    assert db.session.get(User, root.id).is_superuser


def test_a_superuser_stepping_down_loses_the_pages_at_once(admin_client, root):
    factories.user(superuser=True)
    response = post(admin_client, user_url(root), user_url(root, "/superuser/revoke"))
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert admin_client.get("/admin/users/").status_code == 404
    assert admin_client.get("/").status_code == 200


def test_disabling_signs_the_user_out_at_once_and_stops_their_api_token(app, admin_client, person):
    theirs = app.test_client()
    assert log_in(theirs, person.email, factories.PASSWORD).status_code == 302
    assert theirs.get("/").status_code == 200
    token = accounts.create_api_token(person.email)
    bearer = {"Authorization": f"Bearer {token}"}
    assert theirs.get("/api/v1/projects", headers=bearer).status_code == 200

    response = post(admin_client, user_url(person), user_url(person, "/disable"))
    assert response.status_code == 302
    assert "Disabled" in admin_client.get(user_url(person)).get_data(as_text=True)

    next_click = theirs.get("/")
    assert next_click.status_code == 302 and "/login" in next_click.headers["Location"]
    assert app.test_client().get("/api/v1/projects", headers=bearer).status_code == 401
    assert log_in(app.test_client(), person.email, factories.PASSWORD).status_code == 401

    assert post(admin_client, user_url(person), user_url(person, "/enable")).status_code == 302
    assert app.test_client().get("/api/v1/projects", headers=bearer).status_code == 200
    # The old session stays ended: re-enabling is not a way back in for a stolen cookie.
    assert theirs.get("/").status_code == 302


def test_nobody_disables_themselves(admin_client, root):
    response = post(admin_client, user_url(root), user_url(root, "/disable"))
    assert response.status_code == 409
    assert "cannot disable your own account" in response.get_data(as_text=True)
    assert admin_client.get("/").status_code == 200


def test_delete_page_lists_what_goes_and_needs_the_email(admin_client, person):
    owner = factories.user()
    project = factories.project(owner, "Shared place")
    from app.models import Role

    factories.member(project, person, Role.EDITOR)
    credential = factories.shared_dhis2_credential(person, project, "pw-never-shown")
    html = admin_client.get(user_url(person, "/delete")).get_data(as_text=True)
    assert "DHIS2 live" in html and "Shared place" in html and "destroyed" in html
    for typed, status in [("", 422), ("someone@else.org", 422), ("x" * 400, 422)]:
        response = post(admin_client, user_url(person, "/delete"), user_url(person, "/delete"),
                        {"confirm_email": typed})  # fmt: skip
        assert response.status_code == status, typed
        assert db.session.get(User, person.id) is not None
    response = post(admin_client, user_url(person, "/delete"), user_url(person, "/delete"),
                    {"confirm_email": person.email})  # fmt: skip
    assert response.status_code == 302
    # Stopped at once, removed after the grace period (tests/web/test_users_deletion.py).
    db.session.expire_all()
    pending = db.session.get(User, person.id)
    assert pending.disabled and pending.deletion_due_at is not None
    assert db.session.get(Credential, credential.id) is not None
    assert "Deletion on" in admin_client.get(user_url(person)).get_data(as_text=True)


def test_deleting_a_project_owner_is_refused_with_the_projects_named(admin_client, person):
    factories.project(person, "Clinic intake")
    page = admin_client.get(user_url(person, "/delete")).get_data(as_text=True)
    assert "owns “Clinic intake”" in page and "Hand ownership" in page
    assert 'name="confirm_email"' not in page
    response = post(admin_client, user_url(person), user_url(person, "/delete"),
                    {"confirm_email": person.email})  # fmt: skip
    assert response.status_code == 409
    assert "owns “Clinic intake”" in response.get_data(as_text=True)
    assert db.session.get(User, person.id) is not None


def test_nobody_deletes_themselves(admin_client, root):
    page = admin_client.get(user_url(root, "/delete")).get_data(as_text=True)
    assert "cannot delete your own account" in page
    response = post(admin_client, user_url(root), user_url(root, "/delete"),
                    {"confirm_email": root.email})  # fmt: skip
    assert response.status_code == 409
    assert db.session.get(User, root.id) is not None


def test_a_superuser_resets_a_lost_second_factor_and_the_user_enrols_again(
    app, admin_client, person
):
    secret = mfa.propose(person).secret
    mfa.confirm(person, pyotp.TOTP(secret).now())
    nonce_before = person.session_nonce
    assert "Reset two-factor authentication" in admin_client.get(user_url(person)).get_data(
        as_text=True
    )

    response = post(admin_client, user_url(person), user_url(person, "/mfa/reset"))
    assert response.status_code == 302
    db.session.refresh(person)
    assert not person.mfa_enabled and person.totp_secret_encrypted is None
    assert person.session_nonce != nonce_before  # every session they had is over
    codes = db.session.scalars(select(MfaBackupCode).where(MfaBackupCode.user_id == person.id))
    assert list(codes) == []
    entry = db.session.scalars(
        select(AuditEvent).where(AuditEvent.item_id == person.id, AuditEvent.event == "mfa_reset")
    ).one()
    assert entry.changes == {"email": person.email}
    # Back in with the password alone: no code is asked.
    response = log_in(app.test_client(), person.email, factories.PASSWORD)
    assert response.status_code == 302 and "/login/mfa" not in response.headers["Location"]

    again = post(admin_client, user_url(person), user_url(person, "/mfa/reset"))
    assert again.status_code == 409
    assert "does not use two-factor authentication" in again.get_data(as_text=True)


def test_a_superuser_cannot_reset_their_own_second_factor_here(admin_client, root):
    response = post(admin_client, user_url(root), user_url(root, "/mfa/reset"))
    assert response.status_code == 409
