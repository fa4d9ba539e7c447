"""Reading a document's jobs, triggers and edges field by field, recording every problem.

Each reader checks types as well as values: a number where text belongs, or a mapping where
a label belongs, is refused with its path rather than turned into text, and lengths stop at
what the database columns hold.
"""

from __future__ import annotations

import ast
import re
from enum import Enum

from croniter import croniter

from app.models import CronInput, EdgeCondition, TriggerType, WebhookReply
from app.services import adaptor_catalog, time_zones
from app.services.parsing import kind_of as kind
from app.services.triggers import webhook_rate, webhook_signature_settings
from app.services.workflows.retries import read_policy
from app.services.workflows.shapes import EdgeDoc, JobDoc, Report, TriggerDoc

KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
EDGE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.>-]{0,200}$")  # e.g. "fetch->load"
TRIGGER_KEYS = {
    "type",
    "enabled",
    "webhook_reply",
    "cron_expression",
    "cron_timezone",
    "cron_input",
    "cron_input_job",
    "custom_path",
    "webhook_requests_per_minute",
    *webhook_signature_settings.KEYS,
}
JOB_KEYS = {"name", "adaptor", "credential", "body", "retry_policy"}
EDGE_KEYS = {
    "source_trigger",
    "source_job",
    "target_job",
    "condition_type",
    "condition_expression",
    "condition_label",
    "enabled",
}
MAX_TEXT = 200  # names, labels, cron expressions: the columns are varchar(200)


def read_section(report: Report, raw: dict, key: str) -> dict[str, dict]:
    """The entries of `jobs`, `triggers` or `edges` whose key and shape are right."""
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        report.add(key, f"{key} must be a mapping of keys to definitions, not {kind(value)}.")
        return {}
    pattern = EDGE_KEY if key == "edges" else KEY
    entries = {}
    for item_key, item in value.items():
        if not isinstance(item_key, str) or not pattern.match(item_key):
            report.add(
                f"{key}.{item_key}",
                "Keys use letters, digits, '-', '_' and '.' (at most 100 characters).",
            )
        elif not isinstance(item, dict):
            report.add(f"{key}.{item_key}", f"Each entry must be a mapping, not {kind(item)}.")
        else:
            entries[item_key] = item
    return entries


def read_job(report: Report, key: str, raw: dict) -> JobDoc:
    """A step; fields with problems are left empty."""
    path = f"jobs.{key}"
    unknown_keys(report, raw, JOB_KEYS, path)
    name = read_text(
        report, raw.get("name", key), f"{path}.name", "A step's name", "A step needs a name."
    )
    adaptor = read_text(
        report,
        raw.get("adaptor"),
        f"{path}.adaptor",
        "The adaptor",
        "This step needs an adaptor: choose one, e.g. http@1.",
        max_length=100,
    )
    problem = adaptor_catalog.check_ref(adaptor) if adaptor is not None else None
    if problem:
        report.add(f"{path}.adaptor", problem[0].upper() + problem[1:])
    credential = raw.get("credential")
    if credential is not None and not isinstance(credential, str):
        report.add(f"{path}.credential", "Name a credential shared into the project, or null.")
        credential = None
    body = raw.get("body")
    if body is not None and not isinstance(body, str):
        report.add(f"{path}.body", "The body must be text (job code).")
    return JobDoc(
        key,
        " ".join((name or "").split()),
        (adaptor or "").strip(),
        credential or None,
        body if isinstance(body, str) else "",
        read_policy(report, raw.get("retry_policy"), f"{path}.retry_policy", step=True),
    )


def read_trigger(report: Report, key: str, raw: dict, job_keys: set[str]) -> TriggerDoc | None:
    """A trigger, or None when its type is unknown."""
    path = f"triggers.{key}"
    unknown_keys(report, raw, TRIGGER_KEYS, path)
    trigger_type = read_choice(report, raw.get("type"), TriggerType, f"{path}.type")
    enabled = read_bool(report, raw.get("enabled", True), f"{path}.enabled")
    if trigger_type is None:
        return None
    trigger = TriggerDoc(key=key, type=trigger_type, enabled=enabled)
    if trigger_type is TriggerType.WEBHOOK:
        reply = raw.get("webhook_reply", "before_start")
        trigger.webhook_reply = (
            read_choice(report, reply, WebhookReply, f"{path}.webhook_reply")
            or trigger.webhook_reply
        )
        custom_path = raw.get("custom_path")
        if custom_path is not None and (
            not isinstance(custom_path, str) or not KEY.match(custom_path)
        ):
            report.add(
                f"{path}.custom_path",
                "A custom path uses letters, digits, '-', '_' and '.' (at most 100 characters).",
            )
        else:
            trigger.custom_path = custom_path
        limit = raw.get("webhook_requests_per_minute")
        problem = webhook_rate.problem_with(limit)
        if problem:
            report.add(f"{path}.webhook_requests_per_minute", problem)
        trigger.requests_per_minute = None if problem else limit
        trigger.signature, problems = webhook_signature_settings.read(raw, path)
        for where, message in problems:
            report.add(where, message)
        return trigger
    expression = raw.get("cron_expression")
    if (
        not isinstance(expression, str)
        or len(expression) > MAX_TEXT
        or not croniter.is_valid(expression)
    ):
        report.add(
            f"{path}.cron_expression",
            'A cron trigger needs a valid cron expression, e.g. "0 2 * * *" '
            "(minute hour day-of-month month day-of-week).",
        )
    else:
        trigger.cron_expression = expression.strip()
    trigger.cron_timezone = _timezone(report, raw.get("cron_timezone", "UTC"), path)
    cron_input = raw.get("cron_input", "last_success")
    trigger.cron_input = (
        read_choice(report, cron_input, CronInput, f"{path}.cron_input") or trigger.cron_input
    )
    job = raw.get("cron_input_job")
    needed = trigger.cron_input is CronInput.STEP_OUTPUT
    if (job is not None or needed) and not (isinstance(job, str) and job in job_keys):
        report.add(f"{path}.cron_input_job", "Name the job whose last output is the input.")
    else:
        trigger.cron_input_job = job
    return trigger


def read_edge(
    report: Report, key: str, raw: dict, trigger_keys: set[str], job_keys: set[str]
) -> EdgeDoc | None:
    """An edge, or None when its ends are not known (the graph checks need only the ends)."""
    path = f"edges.{key}"
    unknown_keys(report, raw, EDGE_KEYS, path)
    before = len(report.problems)
    source_trigger, source_job = raw.get("source_trigger"), raw.get("source_job")
    if (source_trigger is None) == (source_job is None):
        report.add(path, "An edge has exactly one source: source_trigger or source_job.")
    elif source_trigger is not None and not _known(source_trigger, trigger_keys):
        report.add(f"{path}.source_trigger", f"There is no trigger {show(source_trigger)}.")
    elif source_job is not None and not _known(source_job, job_keys):
        report.add(f"{path}.source_job", f"There is no job {show(source_job)}.")
    target = raw.get("target_job")
    if not _known(target, job_keys):
        report.add(f"{path}.target_job", f"There is no job {show(target)} to point at.")
    ends_known = len(report.problems) == before
    condition = read_choice(
        report, raw.get("condition_type", "always"), EdgeCondition, f"{path}.condition_type"
    )
    enabled = read_bool(report, raw.get("enabled", True), f"{path}.enabled")
    label = read_text(
        report, raw.get("condition_label"), f"{path}.condition_label", "The condition label"
    )
    expression = raw.get("condition_expression")
    where = f"{path}.condition_expression"
    if condition is EdgeCondition.EXPRESSION:
        expression = read_condition(report, expression, where)
    elif expression is not None and not isinstance(expression, str):
        report.add(where, f"The condition expression must be text, not {kind(expression)}.")
    if not ends_known:
        return None
    return EdgeDoc(
        key=key,
        target_job=target,
        source_trigger=source_trigger,
        source_job=source_job,
        condition_type=condition or EdgeCondition.ALWAYS,
        condition_expression=expression if condition is EdgeCondition.EXPRESSION else None,
        condition_label=label,
        enabled=enabled,
    )


def read_condition(report: Report, expression: object, path: str) -> str | None:
    """The expression if it parses as one Python expression over `state`."""
    if not isinstance(expression, str) or not expression.strip():
        report.add(
            path,
            "An expression edge needs a condition_expression, e.g. \"len(state['data']) > 0\".",
        )
        return None
    try:
        ast.parse(expression.strip(), mode="eval")
    except SyntaxError as error:
        report.add(path, f"The condition is not a valid Python expression: {error.msg}.")
        return None
    except (ValueError, RecursionError, MemoryError):
        report.add(path, "The condition is not a valid Python expression: it is nested too deeply.")
        return None
    return expression.strip()


def read_text(
    report: Report,
    value: object,
    path: str,
    label: str,
    missing: str | None = None,
    *,
    max_length: int = MAX_TEXT,
) -> str | None:
    """`value` when it is text of at most `max_length` characters; None otherwise (a problem
    too, unless it is absent and `missing` is None)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if missing:
            report.add(path, missing)
        return None
    if not isinstance(value, str):
        report.add(path, f"{label} must be text, not {kind(value)}.")
        return None
    if len(value.strip()) > max_length:
        report.add(path, f"{label} is too long: at most {max_length} characters.")
        return None
    return value


def read_choice(report: Report, value: object, choices: type[Enum], path: str):
    """The member of `choices` whose value is `value`, else None and a problem."""
    if isinstance(value, str):
        try:
            return choices(value)
        except ValueError:
            pass
    allowed = ", ".join(c.value for c in choices)
    report.add(path, f"{show(value)} is not one of: {allowed}.")
    return None


def read_bool(report: Report, value: object, path: str) -> bool:
    """`value` if it is true or false; else a problem (and True)."""
    if not isinstance(value, bool):
        report.add(path, "Use true or false.")
        return True
    return value


def unknown_keys(report: Report, raw: dict, allowed: set[str], path: str) -> None:
    """A problem for each key of `raw` not in `allowed`."""
    for key in raw:
        if key not in allowed:
            where = f"{path}.{key}" if path else str(key)
            report.add(
                where, f"Unknown key {show(key)}: allowed here are {', '.join(sorted(allowed))}."
            )


def show(value: object) -> str:
    """`value` quoted for a message, cut short when long."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _known(value: object, keys: set[str]) -> bool:
    return isinstance(value, str) and value in keys


def _timezone(report: Report, value: object, path: str) -> str:
    problem = time_zones.problem(value)
    if problem is None:
        return value  # type: ignore[return-value]
    report.add(f"{path}.cron_timezone", problem)
    return "UTC"
