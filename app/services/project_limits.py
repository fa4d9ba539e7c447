"""Per-project run limits: the run time limit, memory per step, the largest accepted payload
and "do not keep print/log output", each set by a project admin within the instance maximum.

A limit left empty (None on the project) means the instance default (app/config.py). The
limits a run gets are worked out by `effective`, which also clamps a value saved before an
operator lowered the maximum, so a project can never run above what the instance allows.
The words people see when a limit is hit live here too, next to the rules.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from flask import current_app

from app.extensions import db
from app.models import Project, User
from app.services import audit
from app.services import projects as project_service
from app.services.errors import Invalid

ITEM = "project"
# ASCII digits only (str.isdigit also takes "²", which int() refuses), short enough to compare.
_WHOLE = re.compile(r"-?[0-9]{1,12}")
# Where people change these limits, named in the messages a limit hit gives.
WHERE = "the project's Settings, under Run limits"
NOT_KEPT = (
    "Log output is not kept for this project (Settings → Run limits); errors are still shown."
)
NOT_KEPT_ZERO_PERSISTENCE = (
    "Log output is not kept: this project keeps no inputs, outputs or logs (Settings → Data "
    "protection, zero persistence); errors are still shown."
)


@dataclass(frozen=True)
class Limit:
    """One number a project may set: its column and words, and the instance settings that
    give its default and its maximum (the payload's default is its maximum)."""

    field: str
    label: str
    unit: str
    default_setting: str
    maximum_setting: str
    maximum_variable: str  # what an operator sets to change the maximum


LIMITS = (
    Limit("run_timeout_s", "Run time limit", "seconds",
          "run_timeout_s", "max_run_timeout_s", "FERRY_MAX_RUN_TIMEOUT_S"),
    Limit("step_memory_mb", "Memory per step", "MB",
          "step_memory_mb", "max_step_memory_mb", "FERRY_MAX_STEP_MEMORY_MB"),
    Limit("max_payload_kb", "Largest accepted payload", "KB",
          "max_payload_kb", "max_payload_kb", "FERRY_MAX_DATACLIP_MB"),
)  # fmt: skip


@dataclass(frozen=True)
class RunLimits:
    """The limits one run of a project works under (never above the instance maxima)."""

    run_timeout_s: int
    step_memory_mb: int
    max_payload_kb: int
    discard_logs: bool = False
    # Log output is dropped because the project keeps no bodies at all (zero persistence):
    # the note on the run says so, and where that is set.
    zero_persistence: bool = False


def effective(
    settings,
    *,
    run_timeout_s: int | None,
    step_memory_mb: int | None,
    max_payload_kb: int | None = None,
    discard_logs: bool = False,
) -> RunLimits:
    """The project's values (None: the instance default), each at most the instance maximum."""
    given = {
        "run_timeout_s": run_timeout_s,
        "step_memory_mb": step_memory_mb,
        "max_payload_kb": max_payload_kb,
    }
    values = {}
    for limit in LIMITS:
        maximum = getattr(settings, limit.maximum_setting)
        default = getattr(settings, limit.default_setting)
        values[limit.field] = min(given[limit.field] or default, maximum)
    return RunLimits(**values, discard_logs=bool(discard_logs))


def for_project(project: Project, settings=None) -> RunLimits:
    """The limits the project's runs get now."""
    return effective(
        settings or _settings(),
        run_timeout_s=project.run_timeout_s,
        step_memory_mb=project.step_memory_mb,
        max_payload_kb=project.max_payload_kb,
        discard_logs=project.discard_logs,
    )


def instance_values(settings=None) -> dict[str, dict[str, int]]:
    """Each limit's instance default and maximum, for the settings page and the API."""
    settings = settings or _settings()
    return {
        limit.field: {
            "default": getattr(settings, limit.default_setting),
            "maximum": getattr(settings, limit.maximum_setting),
        }
        for limit in LIMITS
    }


def update_limits(
    actor: User | None, project_id: uuid.UUID, values: dict[str, object], discard_logs: object
) -> Project:
    """Set the project's limits from `values` (text from a form, or numbers from the API; empty
    or None means the instance default) and whether logs are dropped. Nothing is saved when
    one value is refused: Invalid names that field and the maximum. Audited when changed."""
    project = project_service.get_project(project_id)
    settings = _settings()
    parsed = {limit.field: _parse(limit, values.get(limit.field), settings) for limit in LIMITS}
    if not isinstance(discard_logs, bool):
        raise Invalid("discard_logs", "discard_logs must be true or false.")
    parsed["discard_logs"] = discard_logs
    changes = {}
    for name, value in parsed.items():
        before = getattr(project, name)
        if before != value:
            changes[name] = [before, value]
            setattr(project, name, value)
    if changes:
        actor_id = actor.id if actor is not None else None
        audit.record(ITEM, project.id, "limits_changed", actor_id, changes, project_id=project.id)
        db.session.commit()
    return project


def checked(field: str, raw: object) -> int | None:
    """One limit's value as it would be saved (None: the server's default), or Invalid
    naming the field and the maximum; for project documents (project.yaml)."""
    limit = next(limit for limit in LIMITS if limit.field == field)
    return _parse(limit, raw, _settings())


def _parse(limit: Limit, raw: object, settings) -> int | None:
    """A whole number from 1 to the maximum, or None for "the instance default"."""
    maximum = getattr(settings, limit.maximum_setting)
    within = f"a whole number of {limit.unit} from 1 to {maximum:,}"
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise Invalid(limit.field, f"{limit.label}: give {within}, or leave it empty.")
    if isinstance(raw, str):
        if "\x00" in raw:
            raise Invalid(limit.field, f"{limit.label} contains a NUL character; give {within}.")
        text = raw.strip().replace(",", "").replace("_", "")
        if not _WHOLE.fullmatch(text):
            shown = raw.strip()[:40]
            raise Invalid(limit.field, f"{limit.label}: “{shown}” is not {within}.")
        raw = int(text)
    if raw <= 0:
        raise Invalid(limit.field, f"{limit.label} must be at least 1: give {within}.")
    if raw > maximum:
        raise Invalid(
            limit.field,
            f"{limit.label} can be at most {maximum:,} {limit.unit} on this server "
            f"({limit.maximum_variable}); {raw:,} is more.",
        )
    return raw


def payload_refusal(size_bytes: int, limit_kb: int, what: str = "The body") -> str:
    """What a sender is told when a body (or a run's input) is over the payload limit."""
    size_kb = max(1, -(-size_bytes // 1024))  # rounded up: 1 byte over is still "over"
    return (
        f"{what} is {size_kb:,} KB; this project accepts at most {limit_kb:,} KB. "
        "Nothing was saved."
    )


def payload_refused(settings, project_kb: int | None, size_bytes: int | None) -> str | None:
    """The refusal of a body of `size_bytes` over the project's payload limit, else None (a
    project without a limit of its own leaves the instance's check to the caller)."""
    if project_kb is None or size_bytes is None:
        return None
    limit_kb = min(project_kb, settings.max_payload_kb)
    return payload_refusal(size_bytes, limit_kb) if size_bytes > limit_kb * 1024 else None


def check_input_size(project_id: uuid.UUID, text: str, field: str = "input") -> None:
    """Refuse a manual run's input larger than the project's payload limit."""
    project = project_service.get_project(project_id)
    limit_kb = for_project(project).max_payload_kb
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limit_kb * 1024:
        raise Invalid(field, payload_refusal(size, limit_kb, "The input"))


def _settings():
    return current_app.config["FERRY_SETTINGS"]
