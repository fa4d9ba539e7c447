"""The egress allowlist over the JSON API: reading, replacing, roles, and bad input."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from app.models import AuditEvent, Role
from app.services import accounts
from tests import factories

URL = "/projects/{}/egress_allowlist"


def url(project_id) -> str:
    return URL.format(project_id)


@pytest.fixture
def theirs(db):
    """A project owned by someone else; tests add the signed-in user with some role."""
    return factories.project(factories.user(), "Their project")


def test_owner_reads_and_replaces_the_allowlist(api, project, db):
    assert api.get(url(project.id)).get_json() == {"entries": []}
    response = api.put(url(project.id), json={"entries": ["10.0.0.5:8080", " DHIS2.LAN ", ""]})
    assert response.status_code == 200
    body = response.get_json()
    assert body == {"entries": ["10.0.0.5:8080", "dhis2.lan"], "warnings": []}
    assert api.get(url(project.id)).get_json() == {"entries": ["10.0.0.5:8080", "dhis2.lan"]}


def test_replacing_is_audited_with_before_and_after(api, project, user, db):
    api.put(url(project.id), json={"entries": ["10.0.0.5"]})
    events = list(
        db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.project_id == project.id, AuditEvent.event == "egress_changed"
            )
        )
    )
    assert len(events) == 1
    assert events[0].actor_id == user.id
    assert events[0].changes == {"egress_allowlist": [[], ["10.0.0.5"]]}


def test_empty_list_clears_and_wide_ranges_warn(api, project, db):
    wide = api.put(url(project.id), json={"entries": ["10.0.0.0/8", "169.254.169.254"]})
    assert wide.status_code == 200
    warnings = " ".join(wide.get_json()["warnings"])
    assert "10.0.0.0/8 opens" in warnings and "cloud metadata service" in warnings
    cleared = api.put(url(project.id), json={"entries": []})
    assert cleared.get_json() == {"entries": [], "warnings": []}


@pytest.mark.parametrize(
    ("entries", "says"),
    [
        (["10.0.0.5", "0.0.0.0/0"], "Line 2 (0.0.0.0/0)"),
        (["http://10.0.0.5/api"], "without http://"),
        (["10.0.0.5\u200b"], "control characters"),
        (["10.0.0.5\n10.0.0.6"], "one entry on each line"),
        (["a" * 300], "too long"),
        (["10.0.0.5:99999"], "port must be a number"),
        (["10.0.0.1/24"], "did you mean 10.0.0.0/24"),
        ([f"10.0.{i // 250}.{i % 250}" for i in range(201)], "At most 200 entries"),
        ([""] * 10_000, "At most 200 entries"),
        (["10.0.0.5", 5], "must be text"),
        ([None], "must be text"),
        ([["10.0.0.5"]], "must be text"),
        ("10.0.0.5", "as a list"),
        ({"10.0.0.5": True}, "as a list"),
        (None, "as a list"),
    ],
)
def test_bad_entries_are_422_naming_the_entry(api, project, db, entries, says):
    api.put(url(project.id), json={"entries": ["192.168.1.1"]})
    response = api.put(url(project.id), json={"entries": entries})
    assert response.status_code == 422
    body = response.get_json()
    assert body["field"] == "entries"
    assert says in body["error"]
    # Nothing was stored half-way.
    assert api.get(url(project.id)).get_json() == {"entries": ["192.168.1.1"]}


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ("", 422),  # an empty body is {}: no entries key
        ("{}", 422),
        ('["10.0.0.5"]', 422),
        ('"10.0.0.5"', 422),
        ("{not json", 400),
        ('{"entries": ["10.0.0.5\\u0000"]}', 400),  # NUL is refused while reading the body
        ("\xff\xfe", 400),
    ],
)
def test_unreadable_or_wrong_bodies_are_4xx(api, project, db, data, status):
    response = api.put(url(project.id), data=data, content_type="application/json")
    assert response.status_code == status
    assert response.get_json()["error"]
    assert project.egress_allowlist == []


def test_huge_body_is_refused_without_500(api, project, app, db):
    limit = app.config["MAX_CONTENT_LENGTH"]
    data = '{"entries": ["' + "a" * limit + '"]}'
    response = api.put(url(project.id), data=data, content_type="application/json")
    assert response.status_code == 413
    assert project.egress_allowlist == []


def test_viewer_reads_but_may_not_replace(api, theirs, user, db):
    factories.member(theirs, user, Role.VIEWER)
    assert api.get(url(theirs.id)).status_code == 200
    refused = api.put(url(theirs.id), json={"entries": ["10.0.0.5"]})
    assert refused.status_code == 403
    assert "admin" in refused.get_json()["error"]
    assert theirs.egress_allowlist == []


def test_editor_may_not_replace_but_admin_may(api, theirs, user, db):
    factories.member(theirs, user, Role.EDITOR)
    assert api.put(url(theirs.id), json={"entries": ["10.0.0.5"]}).status_code == 403
    other = factories.project(factories.user(), "Another project")
    factories.member(other, user, Role.ADMIN)
    assert api.put(url(other.id), json={"entries": ["10.0.0.5"]}).status_code == 200
    assert other.egress_allowlist == ["10.0.0.5"] and theirs.egress_allowlist == []


def test_outsiders_and_unknown_projects_get_404(api, theirs, db):
    assert api.get(url(theirs.id)).status_code == 404
    assert api.put(url(theirs.id), json={"entries": ["10.0.0.5"]}).status_code == 404
    assert api.get(url(uuid.uuid4())).status_code == 404
    assert api.get("/projects/not-a-uuid/egress_allowlist").status_code == 404
    assert theirs.egress_allowlist == []


def test_no_token_is_401(client, project, db):
    assert client.get(f"/api/v1{url(project.id)}").status_code == 401
    response = client.put(
        f"/api/v1{url(project.id)}",
        json={"entries": ["10.0.0.5"]},
        headers={"Authorization": "Bearer fry_forged"},
    )
    assert response.status_code == 401


def test_another_users_token_cannot_reach_the_project(client, project, db):
    stranger = factories.user()
    token = accounts.create_api_token(stranger.email)
    response = client.get(f"/api/v1{url(project.id)}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 404


def test_openapi_documents_both_methods(client, db):
    spec = client.get("/api/v1/openapi.json").get_json()
    path = spec["paths"]["/projects/{project_id}/egress_allowlist"]
    assert set(path) == {"get", "put"}
    assert "admin" in path["put"]["description"]
    assert spec["components"]["schemas"]["Allowlist"]["required"] == ["entries"]
