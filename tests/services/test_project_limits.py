"""Per-project run limits: the instance defaults and maxima from the environment, what a
project admin may set (each refusal a sentence naming the maximum, nothing saved), the
limits a run gets, and the audit entry of a change."""
# ruff: noqa: E501 - the tables of cases read best one case per line

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.config import ConfigError, Settings
from app.models import AuditEvent, Project
from app.services import project_limits
from app.services.errors import Invalid
from tests import factories

EMPTY = {"run_timeout_s": "", "step_memory_mb": "", "max_payload_kb": ""}


def stored(db, project) -> Project:
    db.session.expire_all()
    return db.session.get(Project, project.id)


# --- configuration --------------------------------------------------------------------------


def test_the_instance_maxima_default_above_the_defaults():
    settings = Settings.from_env({})
    assert (settings.run_timeout_s, settings.max_run_timeout_s) == (300, 3600)
    assert (settings.step_memory_mb, settings.max_step_memory_mb) == (512, 2048)
    assert settings.max_payload_kb == 10 * 1024  # FERRY_MAX_DATACLIP_MB, in KB


def test_a_default_above_the_built_in_maximum_raises_the_maximum_with_it():
    settings = Settings.from_env({"FERRY_RUN_TIMEOUT_S": "7200", "FERRY_STEP_MEMORY_MB": "4096"})
    assert settings.max_run_timeout_s == 7200 and settings.max_step_memory_mb == 4096


@pytest.mark.parametrize(
    ("environ", "words"),
    [
        ({"FERRY_MAX_RUN_TIMEOUT_S": "60"}, "FERRY_MAX_RUN_TIMEOUT_S (60) is below FERRY_RUN_TIMEOUT_S (300)"),
        ({"FERRY_MAX_STEP_MEMORY_MB": "100"}, "FERRY_MAX_STEP_MEMORY_MB (100) is below FERRY_STEP_MEMORY_MB (512)"),
        ({"FERRY_STEP_MEMORY_MB": "lots"}, "FERRY_STEP_MEMORY_MB must be a whole number"),
        ({"FERRY_MAX_RUN_TIMEOUT_S": "0"}, "FERRY_MAX_RUN_TIMEOUT_S must be greater than zero"),
    ],
)  # fmt: skip
def test_a_maximum_below_its_default_or_not_a_number_is_refused(environ, words):
    with pytest.raises(ConfigError, match=words.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env(environ)


# --- what a run gets ------------------------------------------------------------------------


def test_a_run_gets_the_instance_defaults_until_the_project_sets_its_own():
    settings = Settings()
    limits = project_limits.effective(settings, run_timeout_s=None, step_memory_mb=None)
    assert (limits.run_timeout_s, limits.step_memory_mb, limits.max_payload_kb) == (
        300,
        512,
        10240,
    )
    own = project_limits.effective(
        settings, run_timeout_s=1800, step_memory_mb=128, max_payload_kb=64, discard_logs=True
    )
    assert (own.run_timeout_s, own.step_memory_mb, own.max_payload_kb, own.discard_logs) == (
        1800,
        128,
        64,
        True,
    )


def test_a_value_saved_before_the_maximum_was_lowered_is_held_to_the_new_maximum():
    lowered = Settings(max_run_timeout_s=600, max_step_memory_mb=1024, max_dataclip_mb=1)
    limits = project_limits.effective(
        lowered, run_timeout_s=3000, step_memory_mb=2048, max_payload_kb=5000
    )
    assert (limits.run_timeout_s, limits.step_memory_mb, limits.max_payload_kb) == (
        600,
        1024,
        1024,
    )


def test_the_payload_refusal_says_the_size_and_the_limit_in_kb():
    settings = Settings()
    assert project_limits.payload_refused(settings, 4, 4096) is None
    assert project_limits.payload_refused(settings, 4, 4097) == (
        "The body is 5 KB; this project accepts at most 4 KB. Nothing was saved."
    )
    assert project_limits.payload_refused(settings, None, 10**9) is None  # the instance's check
    assert project_limits.payload_refused(settings, 4, None) is None  # no declared length


# --- what an admin may set ------------------------------------------------------------------


def test_an_admin_sets_limits_and_the_change_is_audited(db, app, user, project):
    values = {"run_timeout_s": "1,800", "step_memory_mb": " 256 ", "max_payload_kb": 512}
    project_limits.update_limits(user, project.id, values, True)
    saved = stored(db, project)
    assert (saved.run_timeout_s, saved.step_memory_mb, saved.max_payload_kb) == (1800, 256, 512)
    assert saved.discard_logs is True
    entry = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.event == "limits_changed", AuditEvent.project_id == project.id
        )
    )
    assert entry.project_id == project.id and entry.actor_id == user.id
    assert entry.changes == {
        "run_timeout_s": [None, 1800],
        "step_memory_mb": [None, 256],
        "max_payload_kb": [None, 512],
        "discard_logs": [False, True],
    }
    # Empty boxes go back to the server's defaults; saving the same again audits nothing.
    project_limits.update_limits(user, project.id, EMPTY, False)
    project_limits.update_limits(user, project.id, EMPTY, False)
    saved = stored(db, project)
    assert (saved.run_timeout_s, saved.step_memory_mb, saved.max_payload_kb) == (None,) * 3
    events = db.session.scalars(
        select(AuditEvent).where(
            AuditEvent.event == "limits_changed", AuditEvent.project_id == project.id
        )
    )
    assert len(list(events)) == 2


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("run_timeout_s", "0", "Run time limit must be at least 1: give a whole number of seconds from 1 to 3,600."),
        ("run_timeout_s", "-5", "Run time limit must be at least 1"),
        ("run_timeout_s", "3601", "Run time limit can be at most 3,600 seconds on this server (FERRY_MAX_RUN_TIMEOUT_S); 3,601 is more."),
        ("step_memory_mb", "4096", "Memory per step can be at most 2,048 MB on this server (FERRY_MAX_STEP_MEMORY_MB)"),
        ("max_payload_kb", "20000", "Largest accepted payload can be at most 10,240 KB on this server (FERRY_MAX_DATACLIP_MB)"),
        ("step_memory_mb", "lots", "Memory per step: “lots” is not a whole number of MB from 1 to 2,048."),
        ("run_timeout_s", "1.5", "“1.5” is not a whole number of seconds"),
        ("run_timeout_s", "9" * 30, "is not a whole number of seconds"),
        ("run_timeout_s", "--5", "“--5” is not a whole number of seconds"),
        ("run_timeout_s", "5²", "“5²” is not a whole number of seconds"),
        ("max_payload_kb", "12\x00", "Largest accepted payload contains a NUL character"),
        ("run_timeout_s", True, "Run time limit: give a whole number of seconds from 1 to 3,600, or leave it empty."),
        ("run_timeout_s", 2.5, "Run time limit: give a whole number"),
    ],
)  # fmt: skip
def test_a_bad_value_is_refused_naming_the_field_and_nothing_is_saved(
    db, app, user, project, field, value, words
):
    values = {"run_timeout_s": "60", "step_memory_mb": "128", "max_payload_kb": "64", field: value}
    with pytest.raises(Invalid) as refused:
        project_limits.update_limits(user, project.id, values, True)
    assert refused.value.field == field
    assert words in refused.value.message
    saved = stored(db, project)
    assert (saved.run_timeout_s, saved.step_memory_mb, saved.discard_logs) == (None, None, False)
    assert (
        db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.event == "limits_changed", AuditEvent.project_id == project.id
            )
        )
        is None
    )


def test_discard_logs_must_be_true_or_false(db, app, user, project):
    with pytest.raises(Invalid) as refused:
        project_limits.update_limits(user, project.id, EMPTY, "yes")
    assert refused.value.field == "discard_logs"
    assert stored(db, project).discard_logs is False


def test_a_manual_runs_input_over_the_payload_limit_is_refused(db, app, user, project):
    project_limits.update_limits(user, project.id, {**EMPTY, "max_payload_kb": "1"}, False)
    project_limits.check_input_size(project.id, "x" * 1024)  # exactly the limit: accepted
    with pytest.raises(Invalid) as refused:
        project_limits.check_input_size(project.id, '{"data": "' + "é" * 600 + '"}')
    assert refused.value.field == "input"
    assert refused.value.message.startswith("The input is 2 KB; this project accepts at most 1 KB.")


def test_another_projects_limits_are_its_own(db, app, user, project):
    other = factories.project(user, "Other")
    project_limits.update_limits(user, project.id, {**EMPTY, "run_timeout_s": "60"}, False)
    assert project_limits.for_project(stored(db, other)).run_timeout_s == 300
    assert project_limits.for_project(stored(db, project)).run_timeout_s == 60
