"""The members pages: what each role sees and may do, and every bad input answering 4xx."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from app.models import Invitation, ProjectCredential, ProjectMember, Role
from app.services import members
from tests import factories
from tests.support import csrf_token_from, log_in


def as_member(app, project, role: Role | None, email: str | None = None):
    """A client signed in as a new member of `project` with `role` (None: no membership)."""
    person = factories.user(email=email)
    if role is not None:
        factories.member(project, person, role)
    client = app.test_client()
    assert log_in(client, person.email, factories.PASSWORD).status_code == 302
    client.person = person
    return client


def url(project, tail: str = "") -> str:
    return f"/projects/{project.id}/settings/members{tail}"


def post(client, project, tail: str, data: dict, **kwargs):
    """Post like the page's forms do: with the CSRF token from the members page."""
    token = csrf_token_from(client.get(url(project)).get_data(as_text=True))
    return client.post(url(project, tail), data={**data, "csrf_token": token}, **kwargs)


def membership(project, person):
    return members.member_for_user(project.id, person.id)


def test_viewers_read_the_list_without_controls(app, db, user, project):
    viewer = as_member(app, project, Role.VIEWER)
    page = viewer.get(url(project)).get_data(as_text=True)
    assert user.email in page and viewer.person.email in page
    assert "your role: viewer" in page
    assert "Add a member" not in page and 'name="role"' not in page
    assert "Remove" not in page and "Make owner" not in page
    assert "Leave" in page  # one may always leave


def test_admins_manage_everyone_but_the_owner(app, db, user, project):
    admin = as_member(app, project, Role.ADMIN)
    editor = factories.user()
    factories.member(project, editor, Role.EDITOR)
    page = admin.get(url(project)).get_data(as_text=True)
    assert "Add a member" in page and "your role: admin" in page
    owner_row = membership(project, user)
    assert f"/settings/members/{owner_row.id}/remove" not in page
    assert f'id="role-{owner_row.id}"' not in page
    assert f'id="role-{membership(project, editor).id}"' in page
    assert "Make owner" not in page


def test_the_owner_sees_the_hand_over(signed_in, db, user, project):
    factories.member(project, factories.user(), Role.VIEWER)
    page = signed_in.get(url(project)).get_data(as_text=True)
    assert "Make owner" in page and "your role: owner" in page


def test_adding_an_unknown_email_sends_an_invitation(app, signed_in, db, project):
    response = post(signed_in, project, "", {"email": "newbie@example.org", "role": "editor"})
    assert response.status_code == 302
    page = signed_in.get(url(project)).get_data(as_text=True)
    assert "Invitation sent to newbie@example.org" in page
    assert "Invitations not yet accepted" in page and "newbie@example.org" in page


def test_adding_an_existing_user_adds_them(signed_in, db, project):
    colleague = factories.user(email="colleague@example.org")
    response = post(signed_in, project, "", {"email": "COLLEAGUE@example.org", "role": "admin"})
    assert response.status_code == 302
    assert membership(project, colleague).role is Role.ADMIN


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"email": "", "role": "viewer"}, "Enter the person"),
        ({"email": "no-at-sign", "role": "viewer"}, "not valid"),
        ({"email": "a@b@c.org", "role": "viewer"}, "not valid"),
        ({"email": "x" * 330 + "@example.org", "role": "viewer"}, "320"),
        ({"email": "ok@example.org", "role": "owner"}, "viewer, editor or admin"),
        ({"email": "ok@example.org", "role": "superuser"}, "viewer, editor or admin"),
        ({"email": "ok@example.org", "role": ""}, "viewer, editor or admin"),
    ],
)
def test_bad_additions_are_refused_on_the_field(signed_in, db, project, data, words):
    response = post(signed_in, project, "", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert words in page
    assert db.session.scalar(select(Invitation)) is None


def test_two_values_for_one_field_use_the_first(signed_in, db, project):
    data = {"email": ["first@example.org", "second@example.org"], "role": ["editor", "owner"]}
    assert post(signed_in, project, "", data).status_code == 302
    invitation = db.session.scalar(select(Invitation))
    assert (invitation.email, invitation.role) == ("first@example.org", "editor")


def test_without_a_role_one_joins_as_viewer(signed_in, db, project):
    colleague = factories.user()
    assert post(signed_in, project, "", {"email": colleague.email}).status_code == 302
    assert membership(project, colleague).role is Role.VIEWER


def test_a_nul_character_is_refused_before_anything(signed_in, db, project):
    response = post(signed_in, project, "", {"email": "a\x00@example.org", "role": "viewer"})
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)


def test_the_same_person_twice_is_refused(signed_in, db, user, project):
    response = post(signed_in, project, "", {"email": user.email, "role": "viewer"})
    assert response.status_code == 422
    assert "already a member, as owner" in response.get_data(as_text=True)


def test_role_change_applies_on_the_next_request(app, signed_in, db, project):
    viewer = as_member(app, project, Role.VIEWER)
    new_workflow = f"/projects/{project.id}/workflows/new"
    assert viewer.get(new_workflow).status_code == 403
    row = membership(project, viewer.person)
    assert post(signed_in, project, f"/{row.id}/role", {"role": "editor"}).status_code == 302
    assert viewer.get(new_workflow).status_code == 200
    assert "your role: editor" in viewer.get(new_workflow).get_data(as_text=True)


@pytest.mark.parametrize("role", ["owner", "root", "", "Editor", "1"])
def test_bad_role_values_are_refused(signed_in, db, project, role):
    person = factories.user()
    factories.member(project, person, Role.VIEWER)
    row = membership(project, person)
    response = post(signed_in, project, f"/{row.id}/role", {"role": role})
    assert response.status_code == 422
    assert "viewer, editor or admin" in response.get_data(as_text=True)
    assert membership(project, person).role is Role.VIEWER


def test_admins_cannot_demote_remove_or_replace_the_owner(app, db, user, project):
    admin = as_member(app, project, Role.ADMIN)
    owner_row = membership(project, user)
    assert post(admin, project, f"/{owner_row.id}/role", {"role": "viewer"}).status_code == 403
    assert post(admin, project, f"/{owner_row.id}/remove", {}).status_code == 403
    assert admin.get(url(project, f"/{owner_row.id}/remove")).status_code == 200  # page only
    admin_row = membership(project, admin.person)
    assert admin.get(url(project, f"/{admin_row.id}/ownership")).status_code == 403
    assert post(admin, project, f"/{admin_row.id}/ownership", {}).status_code == 403
    assert membership(project, user).role is Role.OWNER


def test_editors_and_viewers_change_nothing(app, db, user, project):
    for role in (Role.VIEWER, Role.EDITOR):
        client = as_member(app, project, role)
        target = membership(project, user)
        assert (
            post(client, project, "", {"email": "z@example.org", "role": "viewer"}).status_code
            == 403
        )
        assert post(client, project, f"/{target.id}/role", {"role": "viewer"}).status_code == 403
        assert client.get(url(project, f"/{target.id}/remove")).status_code == 403


def test_members_of_another_project_or_made_up_ids_are_404(app, signed_in, db, project):
    other = factories.project(factories.user(), "Other")
    stranger = factories.user()
    factories.member(other, stranger, Role.VIEWER)
    foreign = membership(other, stranger)
    for member_id in (foreign.id, uuid.uuid4()):
        assert post(signed_in, project, f"/{member_id}/role", {"role": "editor"}).status_code == 404
        assert signed_in.get(url(project, f"/{member_id}/remove")).status_code == 404
        assert post(signed_in, project, f"/{member_id}/remove", {}).status_code == 404
        assert signed_in.get(url(project, f"/{member_id}/ownership")).status_code == 404
        assert post(signed_in, project, f"/{member_id}/ownership", {}).status_code == 404
    assert signed_in.get(url(project, "/not-a-uuid/remove")).status_code == 404
    assert membership(other, stranger).role is Role.VIEWER
    outsider = as_member(app, project, None)
    assert outsider.get(url(project)).status_code == 404


def test_removal_warns_about_credentials_then_unshares_them(app, signed_in, db, project):
    removed = as_member(app, project, Role.EDITOR)
    person = removed.person
    assert removed.get(f"/projects/{project.id}").status_code == 200
    credential = factories.shared_dhis2_credential(person, project, "hidden-pass")
    row = membership(project, person)
    page = signed_in.get(url(project, f"/{row.id}/remove")).get_data(as_text=True)
    assert "DHIS2 live" in page and "will be unshared" in page
    assert "hidden-pass" not in page
    response = post(signed_in, project, f"/{row.id}/remove", {}, follow_redirects=True)
    assert "These credentials were unshared from the project: DHIS2 live" in response.get_data(
        as_text=True
    )
    assert (
        db.session.scalar(
            select(ProjectCredential).where(ProjectCredential.credential_id == credential.id)
        )
        is None
    )
    assert (
        db.session.scalar(select(ProjectMember).where(ProjectMember.user_id == person.id)) is None
    )
    # Their very next request finds the project gone.
    assert removed.get(f"/projects/{project.id}").status_code == 404


def test_hand_over_makes_the_old_owner_admin(signed_in, db, user, project):
    person = factories.user()
    factories.member(project, person, Role.EDITOR)
    row = membership(project, person)
    page = signed_in.get(url(project, f"/{row.id}/ownership")).get_data(as_text=True)
    assert "becomes the project's only owner" in page
    assert post(signed_in, project, f"/{row.id}/ownership", {}).status_code == 302
    assert membership(project, person).role is Role.OWNER
    assert membership(project, user).role is Role.ADMIN
    # The owner's own row cannot be handed ownership.
    assert signed_in.get(url(project, f"/{row.id}/ownership")).status_code == 403


def test_a_member_leaves_but_the_owner_cannot(app, signed_in, db, user, project):
    viewer = as_member(app, project, Role.VIEWER)
    assert "Leave “" in viewer.get(url(project, "/leave")).get_data(as_text=True)
    assert post(viewer, project, "/leave", {}).status_code == 302
    assert viewer.get(url(project)).status_code == 404
    assert post(signed_in, project, "/leave", {}).status_code == 403
    assert membership(project, user).role is Role.OWNER


def test_withdrawing_an_invitation(app, signed_in, db, project):
    post(signed_in, project, "", {"email": "later@example.org", "role": "viewer"})
    invitation = db.session.scalar(select(Invitation))
    other = factories.project(factories.user(), "Other")
    wrong = f"/projects/{other.id}/settings/members/invitations/{invitation.id}/cancel"
    token = csrf_token_from(signed_in.get(url(project)).get_data(as_text=True))
    assert signed_in.post(wrong, data={"csrf_token": token}).status_code == 404
    assert post(signed_in, project, f"/invitations/{uuid.uuid4()}/cancel", {}).status_code == 404
    response = post(signed_in, project, f"/invitations/{invitation.id}/cancel", {})
    assert response.status_code == 302
    assert db.session.scalar(select(Invitation)) is None
    viewer = as_member(app, project, Role.VIEWER)
    assert post(viewer, project, f"/invitations/{invitation.id}/cancel", {}).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, db, project):
    response = client.get(url(project))
    assert response.status_code == 302 and "/login" in response.headers["Location"]
