"""The workflow document (YAML or JSON, keys as in OpenFn's project.yaml): parse and validate.

`parse_document` turns text or a mapping into a `WorkflowDocument` or raises
`Invalid(path, message)` where `path` names the exact place to fix, e.g.
`jobs.load-dhis2.adaptor`. Credentials are referred to by name and resolved by the caller.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

import yaml
from croniter import croniter

from app.models import CronInput, EdgeCondition, TriggerType, WebhookReply
from app.services import adaptor_catalog
from app.services.errors import Invalid

KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
EDGE_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.>-]{0,200}$")  # e.g. "fetch->load"
TOP_KEYS = {"name", "concurrency", "triggers", "jobs", "edges"}
TRIGGER_KEYS = {
    "type",
    "enabled",
    "webhook_reply",
    "cron_expression",
    "cron_timezone",
    "cron_input",
    "cron_input_job",
    "custom_path",
}
JOB_KEYS = {"name", "adaptor", "credential", "body"}
EDGE_KEYS = {
    "source_trigger",
    "source_job",
    "target_job",
    "condition_type",
    "condition_expression",
    "condition_label",
    "enabled",
}


@dataclass
class TriggerDoc:
    """A trigger as written in the document."""

    key: str
    type: TriggerType
    enabled: bool = True
    webhook_reply: WebhookReply = WebhookReply.BEFORE_START
    custom_path: str | None = None
    cron_expression: str | None = None
    cron_timezone: str = "UTC"
    cron_input: CronInput = CronInput.LAST_SUCCESS
    cron_input_job: str | None = None


@dataclass
class JobDoc:
    """A step (job) as written in the document."""

    key: str
    name: str
    adaptor: str
    credential: str | None
    body: str


@dataclass
class EdgeDoc:
    """An edge as written in the document."""

    key: str
    target_job: str
    source_trigger: str | None = None
    source_job: str | None = None
    condition_type: EdgeCondition = EdgeCondition.ALWAYS
    condition_expression: str | None = None
    condition_label: str | None = None
    enabled: bool = True


@dataclass
class WorkflowDocument:
    """A validated workflow document."""

    name: str
    concurrency: int | None = None
    triggers: list[TriggerDoc] = field(default_factory=list)
    jobs: list[JobDoc] = field(default_factory=list)
    edges: list[EdgeDoc] = field(default_factory=list)


def parse_document(source: str | bytes | dict) -> WorkflowDocument:
    """Parse YAML/JSON text (or an already-parsed mapping) and validate every field."""
    raw = _load(source) if isinstance(source, str | bytes) else source
    if not isinstance(raw, dict):
        raise Invalid(
            "", "A workflow document must be a mapping with name, triggers, jobs and edges."
        )
    _no_unknown_keys(raw, TOP_KEYS, "")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise Invalid("name", "The workflow needs a name.")
    if len(name.strip()) > 200:
        raise Invalid("name", "The name is too long: at most 200 characters.")
    document = WorkflowDocument(
        name=" ".join(name.split()),
        concurrency=_positive_int_or_none(raw.get("concurrency"), "concurrency"),
    )
    document.jobs = [_job(k, v) for k, v in _mapping(raw, "jobs").items()]
    job_keys = {job.key for job in document.jobs}
    document.triggers = [_trigger(k, v, job_keys) for k, v in _mapping(raw, "triggers").items()]
    trigger_keys = {trigger.key for trigger in document.triggers}
    document.edges = [
        _edge(k, v, trigger_keys, job_keys) for k, v in _mapping(raw, "edges").items()
    ]
    _no_cycles(document)
    return document


def _load(text: str | bytes) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "it is not valid YAML or JSON"
        raise Invalid("", f"The document could not be read{where}: {problem}.") from None


def _mapping(raw: dict, key: str) -> dict:
    value = raw.get(key) or {}
    if not isinstance(value, dict):
        raise Invalid(key, f"{key} must be a mapping of keys to definitions.")
    pattern = EDGE_KEY if key == "edges" else KEY
    for item_key in value:
        if not isinstance(item_key, str) or not pattern.match(item_key):
            raise Invalid(
                f"{key}.{item_key}",
                "Keys use letters, digits, '-', '_' and '.' (at most 100 characters).",
            )
        if not isinstance(value[item_key], dict):
            raise Invalid(f"{key}.{item_key}", "Each entry must be a mapping.")
    return value


def _job(key: str, raw: dict) -> JobDoc:
    path = f"jobs.{key}"
    _no_unknown_keys(raw, JOB_KEYS, path)
    name = raw.get("name", key)
    if not isinstance(name, str) or not name.strip():
        raise Invalid(f"{path}.name", "A step needs a name.")
    adaptor = raw.get("adaptor")
    if not isinstance(adaptor, str):
        raise Invalid(f"{path}.adaptor", "A step needs an adaptor, e.g. http@1.")
    problem = adaptor_catalog.check_ref(adaptor)
    if problem:
        raise Invalid(f"{path}.adaptor", problem[0].upper() + problem[1:])
    credential = raw.get("credential")
    if credential is not None and not isinstance(credential, str):
        raise Invalid(f"{path}.credential", "Name a credential shared into the project, or null.")
    body = raw.get("body", "")
    if not isinstance(body, str):
        raise Invalid(f"{path}.body", "The body must be text (job code).")
    return JobDoc(key, " ".join(name.split()), adaptor.strip(), credential, body)


def _trigger(key: str, raw: dict, job_keys: set[str]) -> TriggerDoc:
    path = f"triggers.{key}"
    _no_unknown_keys(raw, TRIGGER_KEYS, path)
    trigger = TriggerDoc(key=key, type=_choice(raw.get("type"), TriggerType, f"{path}.type"))
    trigger.enabled = _bool(raw.get("enabled", True), f"{path}.enabled")
    if trigger.type is TriggerType.WEBHOOK:
        trigger.webhook_reply = _choice(
            raw.get("webhook_reply", "before_start"), WebhookReply, f"{path}.webhook_reply"
        )
        custom_path = raw.get("custom_path")
        if custom_path is not None and (
            not isinstance(custom_path, str) or not KEY.match(custom_path)
        ):
            raise Invalid(
                f"{path}.custom_path", "A custom path uses letters, digits, '-', '_' and '.'."
            )
        trigger.custom_path = custom_path
        return trigger
    expression = raw.get("cron_expression")
    if not isinstance(expression, str) or not croniter.is_valid(expression):
        raise Invalid(
            f"{path}.cron_expression",
            'A cron trigger needs a valid cron expression, e.g. "0 2 * * *" '
            "(minute hour day-of-month month day-of-week).",
        )
    trigger.cron_expression = expression.strip()
    trigger.cron_timezone = _timezone(raw.get("cron_timezone", "UTC"), f"{path}.cron_timezone")
    trigger.cron_input = _choice(
        raw.get("cron_input", "last_success"), CronInput, f"{path}.cron_input"
    )
    job = raw.get("cron_input_job")
    if trigger.cron_input is CronInput.STEP_OUTPUT and job not in job_keys:
        raise Invalid(f"{path}.cron_input_job", "Name the job whose last output is the input.")
    trigger.cron_input_job = job
    return trigger


def _edge(key: str, raw: dict, trigger_keys: set[str], job_keys: set[str]) -> EdgeDoc:
    path = f"edges.{key}"
    _no_unknown_keys(raw, EDGE_KEYS, path)
    source_trigger, source_job = raw.get("source_trigger"), raw.get("source_job")
    if (source_trigger is None) == (source_job is None):
        raise Invalid(path, "An edge has exactly one source: source_trigger or source_job.")
    if source_trigger is not None and source_trigger not in trigger_keys:
        raise Invalid(f"{path}.source_trigger", f"There is no trigger {source_trigger!r}.")
    if source_job is not None and source_job not in job_keys:
        raise Invalid(f"{path}.source_job", f"There is no job {source_job!r}.")
    target = raw.get("target_job")
    if target not in job_keys:
        raise Invalid(f"{path}.target_job", f"There is no job {target!r} to point at.")
    edge = EdgeDoc(key=key, target_job=target, source_trigger=source_trigger, source_job=source_job)
    edge.condition_type = _choice(
        raw.get("condition_type", "always"), EdgeCondition, f"{path}.condition_type"
    )
    edge.enabled = _bool(raw.get("enabled", True), f"{path}.enabled")
    label = raw.get("condition_label")
    edge.condition_label = str(label) if label is not None else None
    if edge.condition_type is EdgeCondition.EXPRESSION:
        edge.condition_expression = check_condition_expression(
            raw.get("condition_expression"), f"{path}.condition_expression"
        )
    return edge


def check_condition_expression(expression: object, path: str) -> str:
    """The expression if it parses as one Python expression over `state`, else Invalid."""
    if not isinstance(expression, str) or not expression.strip():
        raise Invalid(
            path,
            "An expression edge needs a condition_expression, e.g. \"len(state['data']) > 0\".",
        )
    try:
        ast.parse(expression.strip(), mode="eval")
    except SyntaxError as error:
        message = f"The condition is not a valid Python expression: {error.msg}."
        raise Invalid(path, message) from None
    return expression.strip()


def _no_cycles(document: WorkflowDocument) -> None:
    following: dict[str, list[EdgeDoc]] = {}
    for edge in document.edges:
        if edge.source_job is not None:
            following.setdefault(edge.source_job, []).append(edge)
    visiting, done = set(), set()

    def visit(job: str) -> None:
        visiting.add(job)
        for edge in following.get(job, []):
            if edge.target_job in visiting:
                raise Invalid(
                    f"edges.{edge.key}",
                    "This edge makes a cycle: a workflow must "
                    "not lead back to a step it came from.",
                )
            if edge.target_job not in done:
                visit(edge.target_job)
        visiting.discard(job)
        done.add(job)

    for job in document.jobs:
        if job.key not in done:
            visit(job.key)


def _no_unknown_keys(raw: dict, allowed: set[str], path: str) -> None:
    for key in raw:
        if key not in allowed:
            where = f"{path}.{key}" if path else str(key)
            raise Invalid(
                where, f"Unknown key {key!r}: allowed here are {', '.join(sorted(allowed))}."
            )


def _choice(value: object, choices, path: str):
    try:
        return choices(value)
    except ValueError:
        allowed = ", ".join(c.value for c in choices)
        raise Invalid(path, f"{value!r} is not one of: {allowed}.") from None


def _bool(value: object, path: str) -> bool:
    if not isinstance(value, bool):
        raise Invalid(path, "Use true or false.")
    return value


def _positive_int_or_none(value: object, path: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise Invalid(path, "Use a whole number of 1 or more, or leave it out for no limit.")
    return value


def _timezone(value: object, path: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(
            path, f"{value!r} is not a time zone name such as UTC or Africa/Nairobi."
        ) from None
    return str(value)
