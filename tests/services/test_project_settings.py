"""Project settings: every change audited with before and after, nothing stored when input is
refused (deleting a project: tests/services/deletions/test_projects.py)."""

from __future__ import annotations

import pytest
from redis import Redis
from rq import Queue
from sqlalchemy import func, select

from app.extensions import DEFAULT_QUEUE
from app.models import (
    AuditEvent,
    Project,
)
from app.services import project_settings
from app.services.errors import Invalid


@pytest.fixture
def default_queue(settings):
    redis = Redis.from_url(settings.redis_url)
    redis.delete(f"rq:queue:{DEFAULT_QUEUE}")
    yield Queue(DEFAULT_QUEUE, connection=redis)
    redis.delete(f"rq:queue:{DEFAULT_QUEUE}")


def entries(db, project, event: str) -> list[AuditEvent]:
    """The project's audit entries of one event, oldest first (`project` may be its id)."""
    project_id = getattr(project, "id", project)
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.project_id == project_id, AuditEvent.event == event)
            .order_by(AuditEvent.inserted_at, AuditEvent.id)
        )
    )


def count(db, model, **where) -> int:
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return db.session.scalar(query)


def test_renaming_is_audited_with_before_and_after(db, user, project):
    project_settings.update_details(user, project.id, "  Clinic   intake v2 ", "Syncs the clinic")
    assert (project.name, project.description) == ("Clinic intake v2", "Syncs the clinic")
    [entry] = entries(db, project, "updated")
    assert entry.actor_id == user.id and entry.item_id == project.id
    assert entry.changes == {
        "name": ["Clinic intake", "Clinic intake v2"],
        "description": ["", "Syncs the clinic"],
    }
    project_settings.update_details(user, project.id, "Clinic intake v2", "Syncs the clinic")
    assert len(entries(db, project, "updated")) == 1  # nothing changed, nothing audited


@pytest.mark.parametrize(
    ("name", "description", "field", "message"),
    [
        ("   ", "", "name", "Give the project a name"),
        ("x" * 201, "", "name", "at most 200"),
        ("Clinic", "d" * 2001, "description", "at most 2,000"),
        ("Cli\x00nic", "", "name", "NUL"),
        ("Clinic", "a\x00b", "description", "NUL"),
    ],
)
def test_bad_details_are_refused_and_nothing_is_stored(db, user, project, name, description,
                                                       field, message):  # fmt: skip
    with pytest.raises(Invalid) as refused:
        project_settings.update_details(user, project.id, name, description)
    assert (refused.value.field, message in refused.value.message) == (field, True)
    db.session.expire_all()
    assert db.session.get(Project, project.id).name == "Clinic intake"
    assert entries(db, project, "updated") == []


def test_the_allowlist_is_stored_tidied_and_audited(db, user, project):
    warnings = project_settings.update_allowlist(
        user, project.id, "DHIS2.lan\n\n10.0.0.0/8\n127.0.0.1:8080\ndhis2.lan"
    )
    assert project.egress_allowlist == ["dhis2.lan", "10.0.0.0/8", "127.0.0.1:8080"]
    assert any("10.0.0.0/8" in w for w in warnings)
    project_settings.update_allowlist(user, project.id, "127.0.0.1:8080")
    first, second = entries(db, project, "egress_changed")
    assert first.changes == {
        "egress_allowlist": [[], ["dhis2.lan", "10.0.0.0/8", "127.0.0.1:8080"]]
    }
    assert second.changes["egress_allowlist"][1] == ["127.0.0.1:8080"]


def test_a_bad_allowlist_line_changes_nothing(db, user, project):
    project_settings.update_allowlist(user, project.id, "10.0.0.5")
    with pytest.raises(Invalid, match=r"Line 2 \(0\.0\.0\.0/0\)"):
        project_settings.update_allowlist(user, project.id, "dhis2.lan\n0.0.0.0/0")
    db.session.expire_all()
    assert db.session.get(Project, project.id).egress_allowlist == ["10.0.0.5"]
    assert len(entries(db, project, "egress_changed")) == 1


def test_the_saved_allowlists_warnings_skip_entries_stored_by_hand(db, project):
    project.egress_allowlist = ["192.168.0.0/16", "0.0.0.0/0 by hand"]
    assert ["192.168.0.0/16" in w for w in project_settings.allowlist_warnings(project)] == [True]


def test_requiring_mfa_is_audited(db, user, project):
    project_settings.set_require_mfa(user, project.id, True)
    project_settings.set_require_mfa(user, project.id, True)
    project_settings.set_require_mfa(user, project.id, False)
    changes = [
        e.changes for e in sorted(entries(db, project, "mfa_changed"), key=lambda e: e.inserted_at)
    ]
    assert changes == [{"require_mfa": [False, True]}, {"require_mfa": [True, False]}]
