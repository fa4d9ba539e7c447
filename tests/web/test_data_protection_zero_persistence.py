"""The Data protection tab's zero persistence card: the consequences are listed before it can
be turned on; turning it on needs "I understand" (422 with a sentence otherwise, nothing
saved); only admins change it; bad values are 4xx, never 500; the history search and the
run page say what it turns off."""

from __future__ import annotations

from html import unescape

import pytest
from sqlalchemy import select

from app.models import AuditEvent, Project
from app.services.zero_persistence import settings
from tests.support import csrf_token_from


def page_url(project) -> str:
    return f"/projects/{project.id}/settings/data"


def send(client, project, **data):
    token = csrf_token_from(client.get(page_url(project)).get_data(as_text=True))
    return client.post(f"{page_url(project)}/zero-persistence", data={**data, "csrf_token": token})


def text(reply) -> str:
    return unescape(reply.get_data(as_text=True))


def is_on(db, project) -> bool:
    db.session.expire_all()
    return db.session.get(Project, project.id).zero_persistence


def test_the_consequences_are_listed_before_it_is_turned_on(team, project):
    html = text(team["admin"].get(page_url(project)))
    assert "Zero persistence" in html and "Before you turn it on" in html
    for line in settings.CONSEQUENCES:
        assert line in html
    assert "log output of steps is dropped" in html and "I understand" in html


def test_turning_it_on_without_confirming_is_a_422_and_nothing_changes(team, project, db):
    reply = send(team["admin"], project, enabled="on")
    assert reply.status_code == 422
    assert settings.CONFIRM in text(reply) and not is_on(db, project)


def test_an_admin_turns_it_on_then_off_and_both_are_audited(team, project, db):
    reply = send(team["admin"], project, enabled="on", understood="y")
    assert reply.status_code == 302 and is_on(db, project)
    page = text(team["admin"].get(page_url(project)))
    assert "Zero persistence is on" in page and "Turn zero persistence off" in page
    assert send(team["admin"], project, enabled="off").status_code == 302
    assert not is_on(db, project)
    events = db.session.scalars(
        select(AuditEvent.changes).where(
            AuditEvent.project_id == project.id, AuditEvent.event == settings.EVENT
        )
    ).all()
    assert len(events) == 2


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_only_admins_may_change_it(team, project, db, role):
    html = text(team[role].get(page_url(project)))
    assert "Turn zero persistence on" not in html and "Before you turn it on" in html
    reply = send(team[role], project, enabled="on", understood="y")
    assert reply.status_code in (403, 404) and not is_on(db, project)


@pytest.mark.parametrize("enabled", ["", "maybe", "ON", "true"])
def test_a_bad_value_is_a_422_with_a_sentence(team, project, db, enabled):
    reply = send(team["admin"], project, enabled=enabled, understood="y")
    assert reply.status_code == 422
    assert "Choose to turn it on or off." in text(reply) and not is_on(db, project)


@pytest.mark.parametrize("field", ["enabled", "understood"])
def test_a_nul_character_is_a_400_naming_the_field(team, project, db, field):
    reply = send(team["admin"], project, **{"enabled": "on", "understood": "y", field: "on\x00"})
    assert reply.status_code == 400 and field in text(reply) and not is_on(db, project)


def test_the_history_search_says_inputs_are_not_searched(team, project, db):
    project.zero_persistence = True
    db.session.commit()
    html = text(team["viewer"].get(f"/projects/{project.id}/history"))
    assert "Searching in inputs is off: this project keeps no inputs (zero persistence)." in html
