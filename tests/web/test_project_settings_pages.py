"""The project settings page for each role (members read it, admins change it, the owner
alone deletes the project), bad input answered 4xx with nothing stored, and the builder's
egress warning."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import select

from app.models import AuditEvent, Project, Role
from tests import factories
from tests.support import csrf_token_from, log_in


@pytest.fixture
def team(app, db, user, project):
    """Signed-in clients by role ("owner" is `user`), each made when a test first asks for it:
    a sign-in hashes a password, so a test pays only for the roles it uses."""

    class Team(dict):
        def __missing__(self, role: str):
            person = user
            if role != "owner":
                person = factories.user()
                factories.member(project, person, Role(role))
            self[role] = signed_in_as(app, person)
            return self[role]

    return Team()


def signed_in_as(app, person):
    client = app.test_client()
    assert log_in(client, person.email, factories.PASSWORD).status_code == 302
    return client


def page_url(project) -> str:
    return f"/projects/{project.id}/settings"


def post(client, project, action: str, data: dict):
    token = csrf_token_from(client.get(page_url(project)).get_data(as_text=True))
    return client.post(f"{page_url(project)}/{action}", data={**data, "csrf_token": token})


def text(reply) -> str:
    return unescape(reply.get_data(as_text=True))


def stored(db, project) -> Project:
    db.session.expire_all()
    return db.session.get(Project, project.id)


# --- reading --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_viewers_and_editors_read_the_settings_without_save_buttons(team, project, role):
    reply = team[role].get(page_url(project))
    html = text(reply)
    assert reply.status_code == 200
    assert "Only the project's admins and owner can change them" in html
    assert html.count("<fieldset disabled>") == 4  # details, egress, MFA, run limits
    assert "Save allowlist" not in html and "Save name and description" not in html
    assert "Delete project</button>" not in html and "Only the project's owner can delete" in html
    assert "Why are internal addresses refused?" in html and "169.254.169.254" in html


def test_admins_change_settings_but_cannot_delete(team, project):
    html = text(team["admin"].get(page_url(project)))
    assert "<fieldset disabled>" not in html
    assert "Save allowlist" in html and "Save name and description" in html
    assert "Delete project</button>" not in html


def test_the_owner_sees_the_deletion_form(team, project):
    html = text(team["owner"].get(page_url(project)))
    assert "Delete project</button>" in html and "Type the project's name to confirm" in html


def test_the_sidebar_links_to_settings_and_the_tab_is_current(team, project):
    html = text(team["viewer"].get(f"/projects/{project.id}"))
    assert f'href="/projects/{project.id}/settings"' in html and "Settings" in html
    settings = text(team["viewer"].get(page_url(project)))
    assert re.search(r'class="nav-link active" aria-current="page" href="[^"]+/settings"', settings)


def test_outsiders_get_404_and_anonymous_visitors_the_login_page(app, db, client, project):
    outsider = signed_in_as(app, factories.user())
    assert outsider.get(page_url(project)).status_code == 404
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    anonymous = client.post(f"{page_url(project)}/egress", data={"csrf_token": token})
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert "/login" in client.get(page_url(project)).headers["Location"]


# --- changing -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_viewers_and_editors_cannot_change_anything(db, team, project, role):
    for action, data in [
        ("egress", {"egress_allowlist": "10.0.0.5"}),
        ("details", {"name": "Renamed", "description": ""}),
        ("mfa", {"require_mfa": "y"}),
        ("delete", {"confirm_name": project.name}),
    ]:
        assert post(team[role], project, action, data).status_code == 403, action
    after = stored(db, project)
    assert (after.egress_allowlist, after.name, after.require_mfa) == ([], "Clinic intake", False)
    assert after.deletion_requested_at is None


def test_an_admin_saves_the_allowlist_and_is_warned_about_wide_ranges(db, team, project):
    reply = post(team["admin"], project, "egress", {"egress_allowlist": "DHIS2.lan\r\n10.0.0.0/8"})
    assert reply.status_code == 302 and reply.headers["Location"].endswith("/settings#egress")
    assert stored(db, project).egress_allowlist == ["dhis2.lan", "10.0.0.0/8"]
    html = text(team["admin"].get(page_url(project)))
    assert "Egress allowlist saved" in html
    assert "10.0.0.0/8 opens every private address in 10.0.0.0/8" in html
    entry = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.event == "egress_changed", AuditEvent.project_id == project.id
        )
    )
    assert entry.project_id == project.id
    assert entry.changes == {"egress_allowlist": [[], ["dhis2.lan", "10.0.0.0/8"]]}


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("dhis2.lan\n0.0.0.0/0", "Line 2 (0.0.0.0/0): this would let steps reach every address"),
        ("::/0", "Line 1 (::/0): this would let steps reach every address"),
        ("10.0.0.5/24", "did you mean 10.0.0.0/24?"),
        ("10.0.0.0/40", "Line 1 (10.0.0.0/40): not a valid IP address or CIDR range"),
        ("http://10.0.0.5/api", "without http://"),
        ("dhis2.lan:99999", "the port must be a number from 1 to 65535"),
        ("\n".join(f"10.1.{i // 250}.{i % 250}" for i in range(201)), "At most 200 entries"),
        ("a" * 20_001, "The allowlist is too long"),
    ],
)
def test_a_bad_allowlist_is_refused_naming_the_line_and_keeping_what_was_typed(
    db, team, project, typed, message
):
    reply = post(team["admin"], project, "egress", {"egress_allowlist": typed})
    html = text(reply)
    assert reply.status_code == 422
    assert message in html
    assert typed.splitlines()[0][:200] in html  # what was typed stays in the form
    assert stored(db, project).egress_allowlist == []


def test_nul_characters_and_wrong_shapes_are_refused(db, team, project):
    assert (
        post(team["admin"], project, "egress", {"egress_allowlist": "10.0.0.5\x00"}).status_code
        == 400
    )
    assert post(team["admin"], project, "details", {"name": "A\x00B"}).status_code == 400
    repeated = post(team["admin"], project, "egress", {"egress_allowlist": ["10.0.0.5", "x y"]})
    assert repeated.status_code in (302, 422)
    no_token = team["admin"].post(
        f"{page_url(project)}/egress", data={"egress_allowlist": "1.1.1.1"}
    )
    assert no_token.status_code == 400
    assert stored(db, project).egress_allowlist in ([], ["10.0.0.5"])


def test_an_admin_renames_the_project_and_bad_names_are_refused(db, team, project):
    admin = team["admin"]
    assert post(admin, project, "details", {"name": "", "description": ""}).status_code == 422
    too_long = post(admin, project, "details", {"name": "x" * 201, "description": ""})
    assert too_long.status_code == 422 and "200 characters" in text(too_long)
    long_text = post(admin, project, "details", {"name": "Ok", "description": "d" * 2001})
    assert long_text.status_code == 422
    assert stored(db, project).name == "Clinic intake"
    done = post(admin, project, "details", {"name": "Clinic intake 2", "description": "Syncs"})
    assert done.status_code == 302
    assert (stored(db, project).name, stored(db, project).description) == (
        "Clinic intake 2",
        "Syncs",
    )


def test_an_admin_requires_mfa_of_members(db, team, project):
    assert post(team["admin"], project, "mfa", {"require_mfa": "y"}).status_code == 302
    assert stored(db, project).require_mfa is True
    entry = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "mfa_changed"))
    assert entry.changes == {"require_mfa": [False, True]}


def test_the_builders_link_puts_the_entry_into_the_form_for_admins_only(team, project):
    url = f"{page_url(project)}?add=127.0.0.1:8080"
    admin_html = text(team["admin"].get(url))
    assert "<code>127.0.0.1:8080</code> was added at the end of the list below" in admin_html
    assert re.search(r"<textarea[^>]*>127\.0\.0\.1:8080</textarea>", admin_html)
    assert "was added at the end" not in text(team["editor"].get(url))
    for bad in ("0.0.0.0/0", "x" * 5000, "%3Cscript%3E"):
        assert "was added at the end" not in text(
            team["admin"].get(f"{page_url(project)}?add={bad}")
        )


# --- deleting -------------------------------------------------------------------------------


def test_admins_cannot_delete_the_project(db, team, project):
    assert post(team["admin"], project, "delete", {"confirm_name": project.name}).status_code == 403
    assert stored(db, project).deletion_requested_at is None


@pytest.mark.parametrize("typed", ["", "clinic intake", "Clinic intak", "Another project"])
def test_the_owner_must_type_the_exact_name(db, team, project, typed):
    reply = post(team["owner"], project, "delete", {"confirm_name": typed})
    assert reply.status_code == 422
    assert "Type the project's name" in text(reply)
    assert stored(db, project).deletion_requested_at is None


def test_a_deleted_project_is_gone_from_every_page_at_once(db, team, project, user):
    flow = factories.workflow(project)
    reply = post(team["owner"], project, "delete", {"confirm_name": "Clinic intake"})
    assert reply.status_code == 302 and reply.headers["Location"] == "/"
    listing = text(team["owner"].get("/"))
    assert "Project “Clinic intake” deleted. Its data is removed on" in listing
    # Only under "Scheduled for deletion", with the cancel button (test_project_deletion.py).
    assert f'href="/projects/{project.id}"' not in listing
    assert "Scheduled for deletion" in listing
    for role in ("owner", "admin", "viewer"):
        for url in (f"/projects/{project.id}", page_url(project),
                    f"/projects/{project.id}/workflows/{flow.id}"):  # fmt: skip
            assert team[role].get(url).status_code == 404, (role, url)
    entry = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "deleted"))
    assert (entry.project_id, entry.actor_id, entry.changes["name"]) == (
        project.id,
        user.id,
        "Clinic intake",
    )


# --- the builder's egress warning -----------------------------------------------------------


def warning(client, project, **data):
    token = csrf_token_from(client.get(page_url(project)).get_data(as_text=True))
    return client.post(
        f"/projects/{project.id}/workflows/egress-warnings",
        data=data,
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )


def test_a_loopback_url_is_warned_about_with_a_link_for_admins(team, project):
    body = 'get("http://127.0.0.1:8099/patients")'
    admin = text(warning(team["admin"], project, body=body, credential=""))
    assert "not allowed in this project" in admin and "<code>127.0.0.1:8099</code>" in admin
    assert "in the step's code: a loopback address" in admin
    assert f"/projects/{project.id}/settings?add=127.0.0.1:8099#egress" in admin
    editor = text(warning(team["editor"], project, body=body))
    assert "ask a project admin to add <code>127.0.0.1:8099</code>" in editor
    assert "?add=" not in editor


def test_the_request_builders_fields_are_checked_and_allowed_addresses_pass(db, team, project):
    form = {
        "adaptor": "http@1",
        "operation": "get",
        "path-mode": "text",
        "path-value": "http://127.0.0.1:8099/x",
        "query-rowvalue": "http://10.0.0.9/",
    }
    html = text(warning(team["editor"], project, **form))
    assert "127.0.0.1:8099" in html and "10.0.0.9:80" in html and "in this form" in html
    project.egress_allowlist = ["127.0.0.1:8099", "10.0.0.9"]
    db.session.commit()
    assert text(warning(team["editor"], project, **form)).strip() == ""


def test_the_warning_endpoint_takes_bad_input_calmly(team, project, app, db):
    viewer = team["viewer"]
    assert warning(viewer, project, body="no url here").get_data(as_text=True).strip() == ""
    assert warning(viewer, project, credential="x" * 5000).status_code == 200
    assert warning(viewer, project, body="http://[::1" * 10_000).status_code == 200
    assert warning(viewer, project, body="a\x00b").status_code == 400
    outsider = signed_in_as(app, factories.user())
    assert warning(outsider, factories.project(factories.user())).status_code == 404


def test_the_builder_has_the_warning_slots(team, project):
    flow = factories.workflow(project)
    html = text(team["editor"].get(f"/projects/{project.id}/workflows/{flow.id}"))
    assert 'id="step-egress"' in html
    assert f"/projects/{project.id}/workflows/egress-warnings" in html
    form = text(
        team["editor"].get(
            f"/projects/{project.id}/workflows/request-form?adaptor=http@1&operation=get"
        )
    )
    assert 'id="rb-egress"' in form and 'hx-include="#rb-op-form"' in form
