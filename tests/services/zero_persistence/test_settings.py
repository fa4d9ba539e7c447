"""Turning zero persistence on needs the consequences acknowledged; on and off are audited;
wrong types are refused with a sentence naming the field."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import AuditEvent
from app.services.errors import Invalid
from app.services.zero_persistence import settings


def entries(db, project):
    return db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.project_id == project.id, AuditEvent.event == settings.EVENT
        )
    ).all()


def test_turning_it_on_without_confirming_is_refused_and_changes_nothing(db, user, project):
    with pytest.raises(Invalid) as refused:
        settings.update(user, project.id, True, False)
    assert refused.value.field == "understood" and "I understand" in refused.value.message
    db.session.refresh(project)
    assert project.zero_persistence is False and entries(db, project) == []


def test_turning_it_on_and_off_is_audited_with_before_and_after(db, user, project):
    settings.update(user, project.id, True, True)
    assert settings.is_on(project.id)
    settings.update(user, project.id, False, None)  # off needs no confirmation
    assert not settings.is_on(project.id)
    changes = [entry.changes["zero_persistence"] for entry in entries(db, project)]
    assert sorted(changes) == [[False, True], [True, False]]


def test_saving_the_same_value_records_nothing(db, user, project):
    settings.update(user, project.id, False, None)
    assert entries(db, project) == []


@pytest.mark.parametrize(
    ("enabled", "understood", "field"),
    [("yes", True, "zero_persistence"), (1, True, "zero_persistence"), (True, "yes", "understood")],
)
def test_values_of_the_wrong_type_are_refused(db, user, project, enabled, understood, field):
    with pytest.raises(Invalid) as refused:
        settings.update(user, project.id, enabled, understood)
    assert refused.value.field == field and "true or false" in refused.value.message
