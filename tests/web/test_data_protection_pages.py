"""The Data protection tab's retention form: admins choose how long history and bodies are
kept (bodies never longer than history), everyone else reads it; a bad value is a 422 that
says what to choose, nothing saved, audited when it changes."""

from __future__ import annotations

from html import unescape

import pytest
from sqlalchemy import select

from app.models import AuditEvent, Project
from tests import factories
from tests import history_factories as made
from tests.support import csrf_token_from, log_in


def page_url(project) -> str:
    return f"/projects/{project.id}/settings/data"


def save(client, project, **data):
    token = csrf_token_from(client.get(page_url(project)).get_data(as_text=True))
    return client.post(f"{page_url(project)}/retention", data={**data, "csrf_token": token})


def text(reply) -> str:
    return unescape(reply.get_data(as_text=True))


def stored(db, project) -> Project:
    db.session.expire_all()
    return db.session.get(Project, project.id)


def test_the_tab_shows_the_policy_and_every_choice(team, project):
    html = text(team["viewer"].get(page_url(project)))
    assert "Data retention" in html and "Data protection" in html
    for choice in ("7 days", "14 days", "30 days", "90 days", "180 days", "365 days", "Forever"):
        assert choice in html
    assert "Only the project's admins and owner can change them." in html
    assert "Save retention" not in html


def test_an_admin_sets_the_policy_and_it_is_audited(team, project, db):
    reply = save(team["admin"], project, history_retention_days="90", dataclip_retention_days="30")
    assert reply.status_code == 302
    saved = stored(db, project)
    assert (saved.history_retention_days, saved.dataclip_retention_days) == (90, 30)
    entry = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.project_id == project.id, AuditEvent.event == "retention_changed"
        )
    ).one()
    assert entry.changes == {
        "history_retention_days": [None, 90],
        "dataclip_retention_days": [None, 30],
    }
    page = text(team["admin"].get(page_url(project)))
    assert "Retention saved. Nothing is old enough to be removed yet." in page


def test_saving_says_how_much_the_purge_will_remove(team, project, flow, db):
    made.work_order(flow, received=made.at(days_ago=40))
    reply = save(team["owner"], project, history_retention_days="30", dataclip_retention_days="30")
    assert reply.status_code == 302
    page = text(team["owner"].get(page_url(project)))
    assert "Older than the new limits: 1 work order to delete and 1 stored input or output" in page
    wait = "Waiting for the purge: 1 work order to delete and 1 stored input or output to wipe."
    assert wait in page


def test_bodies_cannot_outlive_their_history(team, project, db):
    reply = save(
        team["admin"], project, history_retention_days="30", dataclip_retention_days="forever"
    )
    assert reply.status_code == 422
    assert "cannot be kept longer than the history they belong to (30 days)" in text(reply)
    assert stored(db, project).history_retention_days is None


@pytest.mark.parametrize(
    "value", ["8", "-7", "0", "seven", "\uff11\uff14", "99999999999999999999", ""]
)
def test_a_value_that_is_not_a_choice_is_refused_saying_what_to_choose(team, project, db, value):
    reply = save(team["admin"], project, history_retention_days=value or "x")
    assert reply.status_code == 422
    assert "Choose one of: 7 days, 14 days, 30 days, 90 days, 180 days, 365 days, Forever." in (
        text(reply)
    )
    assert stored(db, project).history_retention_days is None


def test_forever_on_both_is_the_default_and_can_be_saved_back(team, project, db):
    save(team["admin"], project, history_retention_days="7", dataclip_retention_days="7")
    reply = save(
        team["admin"], project, history_retention_days="forever", dataclip_retention_days=""
    )
    assert reply.status_code == 302
    saved = stored(db, project)
    assert (saved.history_retention_days, saved.dataclip_retention_days) == (None, None)


def test_a_nul_character_is_refused_before_anything_is_read(team, project, db):
    reply = save(team["admin"], project, history_retention_days="7\x00")
    assert reply.status_code == 400 and "history_retention_days" in text(reply)
    assert stored(db, project).history_retention_days is None


def test_editors_cannot_change_it_and_strangers_cannot_see_it(team, project, app):
    assert save(team["editor"], project, history_retention_days="7").status_code == 403
    stranger = app.test_client()
    person = factories.user()
    log_in(stranger, person.email, factories.PASSWORD)
    assert stranger.get(page_url(project)).status_code == 404


def test_the_database_refuses_bodies_kept_longer_than_history(project, db):
    import sqlalchemy.exc

    project.history_retention_days = 7
    project.dataclip_retention_days = 30
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()
