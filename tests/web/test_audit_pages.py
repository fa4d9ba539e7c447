"""The audit log pages: a project's for its admins and owners, the instance's for
superusers; newest first, a page at a time, filtered by event; bad page links are a 400."""

from __future__ import annotations

import base64
import json
import re
import uuid
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import Role
from app.models.base import utcnow
from app.services import audit
from tests import factories
from tests.support import log_in

NEXT = re.compile(r'rel="next" href="([^"]+)"')


def _entry(project, event, minutes_ago, changes=None, actor=None, item_type="workflow", at=None):
    row = audit.record(
        item_type,
        uuid.uuid4(),
        event,
        actor.id if actor else None,
        changes or {},
        project_id=project.id if project else None,
    )
    row.inserted_at = at or utcnow() - timedelta(minutes=minutes_ago)
    db.session.commit()  # entries are append-only: the time is set before the first write
    return row


def _as(app, person):
    client = app.test_client()
    assert log_in(client, person.email, factories.PASSWORD).status_code == 302
    return client


def _html(response) -> str:
    return response.get_data(as_text=True)


def _rows(response) -> str:
    """The table's body only (the event filter lists the events too)."""
    return _html(response).split("<tbody>")[1].split("</tbody>")[0]


@pytest.fixture
def log(project, user):
    """Five entries in `project` (newest first: e4 .. e0) and one in another project."""
    for number in range(5):
        _entry(project, f"event_{number}", 50 - number * 10, {"n": number}, actor=user)
    other = factories.project(factories.user(), "Elsewhere")
    _entry(other, "elsewhere_event", 1)
    return project


def test_the_owner_sees_the_projects_entries_newest_first(signed_in, log):
    response = signed_in.get(f"/projects/{log.id}/settings/audit")
    assert response.status_code == 200
    html = _html(response)
    rows = _rows(response)
    positions = [rows.index(f"Event {n}") for n in (4, 3, 2, 1, 0)]
    assert positions == sorted(positions)
    assert "Elsewhere" not in html and "Elsewhere event" not in html
    assert "Test Person" in rows  # the actor
    assert 'aria-current="page"' in html and "Audit log" in html  # the settings tab


@pytest.mark.parametrize(
    ("role", "status"), [(Role.ADMIN, 200), (Role.EDITOR, 403), (Role.VIEWER, 403)]
)
def test_only_admins_and_owners_read_a_projects_log(app, db, log, role, status):
    member = factories.user()
    factories.member(log, member, role)
    assert _as(app, member).get(f"/projects/{log.id}/settings/audit").status_code == status


def test_outsiders_get_404_and_anonymous_visitors_the_sign_in_page(app, client, db, log):
    assert _as(app, factories.user()).get(f"/projects/{log.id}/settings/audit").status_code == 404
    response = client.get(f"/projects/{log.id}/settings/audit")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_pages_follow_each_other_without_gaps_or_repeats(signed_in, log):
    seen = []
    url = f"/projects/{log.id}/settings/audit?limit=2"
    while url:
        response = signed_in.get(url)
        html = _html(response)
        seen += re.findall(r"Event (\d)", _rows(response))
        found = NEXT.search(html)
        url = found.group(1).replace("&amp;", "&") if found else None
        assert not url or "limit=2" in url
    assert seen == ["4", "3", "2", "1", "0"]


def test_entries_with_the_same_time_are_paged_by_id(signed_in, project):
    moment = utcnow() - timedelta(minutes=5)
    for number in range(3):
        _entry(project, f"tied_{number}", 5, at=moment)
    seen, url = [], f"/projects/{project.id}/settings/audit?limit=1"
    while url:
        response = signed_in.get(url)
        html = _html(response)
        seen += re.findall(r"Tied (\d)", _rows(response))
        found = NEXT.search(html)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert sorted(seen) == ["0", "1", "2"]


def test_the_log_is_filtered_by_event(signed_in, log):
    html = _html(signed_in.get(f"/projects/{log.id}/settings/audit?event=event_2"))
    assert "Event 2" in html.split("<tbody>")[1]
    assert "Event 3" not in html.split("<tbody>")[1]
    assert '<option value="event_2" selected>' in html
    empty = _html(signed_in.get(f"/projects/{log.id}/settings/audit?event=no_such_event"))
    assert "No entries for this event" in empty


def _crafted(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "!!!",
        _crafted(["2026-01-01T00:00:00+00:00"]),
        _crafted(["not a time", "4927a20c-eff4-4584-896a-945c68d77d14"]),
        _crafted(["2026-01-01T00:00:00+00:00", "not-a-uuid"]),
        _crafted([1, 2]),
        _crafted({"a": 1}),
        _crafted(["0001-01-01T00:00:00+00:00", "4927a20c-eff4-4584-896a-945c68d77d14"]),
        "A" * 5000,
    ],
)
def test_crafted_cursors_are_a_400_with_a_way_back(signed_in, log, cursor):
    response = signed_in.get(f"/projects/{log.id}/settings/audit", query_string={"cursor": cursor})
    assert response.status_code == 400
    html = _html(response)
    assert "This page link is not valid" in html and "Show the newest entries" in html


def test_a_cursor_with_a_nul_character_is_refused(signed_in, log):
    response = signed_in.get(f"/projects/{log.id}/settings/audit?cursor=abc%00")
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("limit", "status"),
    [
        ("1000000", 200),
        ("99999999999999999999999", 200),
        ("0", 400),
        ("-3", 400),
        ("ten", 400),
        ("1.5", 400),
    ],
)
def test_page_sizes_are_capped_or_explained(signed_in, log, limit, status):
    response = signed_in.get(f"/projects/{log.id}/settings/audit?limit={limit}")
    assert response.status_code == status
    if status == 400:
        assert "page size" in _html(response)


def test_an_overlong_event_filter_is_a_400(signed_in, log):
    response = signed_in.get(f"/projects/{log.id}/settings/audit?event={'x' * 51}")
    assert response.status_code == 400
    assert "Choose an event from the list" in _html(response)


def test_changes_are_shown_but_secret_looking_values_are_hidden(signed_in, project, user):
    _entry(
        project,
        "updated",
        1,
        {"fields": ["url", "password"], "password": "hunter2-secret", "client_secret": "abc"},
        actor=user,
    )
    html = _html(signed_in.get(f"/projects/{project.id}/settings/audit"))
    assert "hunter2-secret" not in html and ">abc<" not in html
    assert "(hidden)" in html and "[&#34;url&#34;, &#34;password&#34;]" in html


def test_items_are_named_when_they_still_exist(signed_in, project, user):
    audit.record("project", project.id, "renamed", user.id, {}, project_id=project.id)
    db.session.commit()
    html = _html(signed_in.get(f"/projects/{project.id}/settings/audit"))
    assert "Clinic intake" in html.split("<tbody>")[1]


def test_the_instance_log_is_for_superusers_only(app, client, db, log):
    boss = factories.user(superuser=True)
    response = _as(app, boss).get("/admin/audit")
    assert response.status_code == 200
    html = _html(response)
    assert "Elsewhere event" in html and "Event 4" in html
    assert "Clinic intake" in html and "Elsewhere" in html  # the project column
    assert _as(app, factories.user()).get("/admin/audit").status_code == 404
    response = client.get("/admin/audit")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_the_instance_log_shows_failed_sign_ins_from_people_not_signed_in(app, client, db, user):
    log_in(client, user.email, "a wrong password here")
    boss = factories.user(superuser=True)
    html = _html(_as(app, boss).get("/admin/audit?event=sign_in_failed"))
    body = html.split("<tbody>")[1]
    assert "Sign in failed" in body and "not signed in" in body and user.email in body
    assert "a wrong password here" not in html


def test_the_instance_log_refuses_bad_cursors_too(app, db):
    boss = factories.user(superuser=True)
    assert _as(app, boss).get("/admin/audit?cursor=nonsense").status_code == 400


def test_the_admin_menu_links_to_the_instance_log(app, db):
    boss = factories.user(superuser=True)
    assert 'href="/admin/audit"' in _html(_as(app, boss).get("/"))
