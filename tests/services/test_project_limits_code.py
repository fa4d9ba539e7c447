"""Run limits in a project document (project.yaml): exported with the other settings, applied
like them, and a value over the server's maximum reported at its path with nothing changed."""

from __future__ import annotations

import pytest

from app.models import Project
from app.services import project_limits
from app.services.project_code import document, importing
from app.services.project_code.importing import ProjectDocumentInvalid
from tests.services.project_code.sample_project import sample_project


@pytest.fixture
def clinic(user):
    return sample_project(user)


def test_the_limits_travel_in_the_document_and_come_back(db, clinic, user):
    values = {"run_timeout_s": "90", "step_memory_mb": "", "max_payload_kb": "256"}
    project_limits.update_limits(user, clinic.id, values, True)
    doc = document.export_project(clinic.id)
    assert {key: doc["settings"][key] for key in (*values, "discard_logs")} == {
        "run_timeout_s": 90,
        "step_memory_mb": None,
        "max_payload_kb": 256,
        "discard_logs": True,
    }
    doc["settings"].update(run_timeout_s=None, step_memory_mb=128, discard_logs=False)
    result = importing.apply_project(doc, user, project_id=clinic.id)
    assert {c.path for c in result.changes} == {
        "settings.run_timeout_s",
        "settings.step_memory_mb",
        "settings.discard_logs",
    }
    project = db.session.get(Project, clinic.id)
    limits = (project.run_timeout_s, project.step_memory_mb, project.max_payload_kb)
    assert limits == (None, 128, 256) and project.discard_logs is False


def test_a_limit_over_the_maximum_is_reported_at_its_path_and_nothing_changes(db, clinic, user):
    doc = document.export_project(clinic.id)
    doc["settings"].update(run_timeout_s=86400, discard_logs="yes")
    doc["description"] = "Changed"
    with pytest.raises(ProjectDocumentInvalid) as raised:
        importing.apply_project(doc, user, project_id=clinic.id)
    problems = {p.path: p.message for p in raised.value.problems}
    assert problems["settings.run_timeout_s"] == (
        "Run time limit can be at most 3,600 seconds on this server "
        "(FERRY_MAX_RUN_TIMEOUT_S); 86,400 is more."
    )
    assert problems["settings.discard_logs"] == "Write true or false, not text."
    project = db.session.get(Project, clinic.id)
    assert project.run_timeout_s is None and project.description != "Changed"
