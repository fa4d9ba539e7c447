"""Run errors in plain language: one mapping from an error's code to a sentence a
non-programmer understands and what to check, with the technical text kept beside it.

Pure: no Flask, no database. An error is the dict the runtime stores (`type`, `message`,
`line`, and since issue 15 `code` and `details`; see workers/runtime/errors.py for the list of
codes, shared by convention). Older rows have no code: the type and a few well-known messages
stand in, and anything else gets a generic sentence with the technical text.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

from app.services.runs.plain_messages import CHECKS, SENTENCES


@dataclass(frozen=True)
class PlainError:
    """An error as pages, alerts and digests show it."""

    sentence: str  # the plain sentence, naming the step and the record inside `each`
    check: str  # what to look at first ("" when there is nothing useful to say)
    technical: str  # "Type: message (line N)", exactly as stored
    code: str  # the code the sentence was chosen by ("unknown" for the generic one)
    type: str
    message: str
    line: int | None = None


GENERIC = "The step did not finish: {summary}"
GENERIC_CHECK = "The technical detail below says more."
# Errors stored before codes existed: by type, then by a well-known message.
TYPE_CODES = {
    "LostRun": "run_lost",
    "WorkerStopped": "worker_stopped",
    "InputUnavailable": "input_unavailable",
    "CredentialUnavailable": "credential_unavailable",
    "SandboxError": "sandbox_failed",
}
_LEGACY = [
    (
        "missing_key",
        re.compile(
            r"(?P<path>S[^\s:]*): no key '(?P<key>[^']*)' in (?P<where>\S+) "
            r"\((?:keys: (?P<keys>[^)]*)|it is empty)\)"
        ),
    ),
    (
        "connection_refused",
        re.compile(
            r"(?P<method>[A-Z]+) (?P<url>https?://(?P<host>[^/:\s]+)(?::(?P<port>\d+))?\S*)"
            r" failed: .*Connection refused"
        ),
    ),
    ("wrong_type", re.compile(r"(?P<operation>\w+) needs a list or a JSONPath string")),
    # A run's own error keeps only type and message: its time limit is read back from it.
    ("run_time_limit", re.compile(r"run took longer than its time limit of (?P<seconds>\d+) s")),
    ("time_limit", re.compile(r"ran longer than (?P<seconds>[\d.]+) s")),
    ("memory_limit", re.compile(r"more than (?P<mb>\d+) MB of memory")),
    (
        "egress_blocked",
        re.compile(r"connecting to (?P<address>\S+) is not allowed \((?P<reason>[^)]*)\)"),
    ),
]
_PREFIX = re.compile(r"^(?:Line \d+: |Operation '[^']*' on line \d+ (?:failed|was stopped): )+")
_TYPE_WORDS = {
    "list": "a list",
    "tuple": "a list",
    "dict": "an object",
    "str": "text",
    "NoneType": "nothing",
    "int": "a number",
    "float": "a number",
    "bool": "true or false",
}


def explain(error: dict | None, step_name: str | None = None) -> PlainError:
    """The plain sentence, what to check and the technical text of a stored error."""
    error = error if isinstance(error, dict) else {}
    kind = str(error.get("type") or "Error")
    message = str(error.get("message") or "")
    line = error.get("line") if isinstance(error.get("line"), int) else None
    details = dict(error["details"]) if isinstance(error.get("details"), dict) else {}
    code = str(error.get("code") or "") or _legacy_code(kind, message, details)
    values = _values(details, message)
    sentence = _first_fitting(SENTENCES.get(code, ()), values)
    place = _place(step_name, details.get("record"))
    if sentence is None:
        code, check = "unknown", GENERIC_CHECK
        if place:
            sentence = f"{place.removesuffix(': ')} did not finish: {values['summary']}"
        else:
            sentence = GENERIC.format(summary=values["summary"])
    else:
        sentence = place + sentence
        variant = CHECKS.get(f"{code}:{values.get('variant')}")
        check = _first_fitting(variant or CHECKS.get(code, ()), values) or ""
    technical = f"{kind}: {message}" if message else kind
    if line and f"line {line}" not in message.lower():
        technical += f" (line {line})"
    return PlainError(sentence, check, technical, code, kind, message, line)


def known_codes() -> frozenset[str]:
    """Every code that has a sentence."""
    return frozenset(SENTENCES)


def _legacy_code(kind: str, message: str, details: dict) -> str:
    for code, pattern in _LEGACY:
        found = pattern.search(message)
        if found:
            details.update({k: v for k, v in found.groupdict().items() if v is not None})
            if code == "missing_key":
                details["available"] = [k for k in details.pop("keys", "").split(", ") if k]
                details["where"] = details["where"].replace("state", "S", 1)
            return code
    return TYPE_CODES.get(kind, "")


def _values(details: dict, message: str) -> dict:
    """What sentences may name: the details, plus words made from them."""
    values = {key: _shown(value) for key, value in details.items()}
    core = _PREFIX.sub("", message).strip()
    first = core.splitlines()[0] if core else "no message was recorded."
    values["summary"] = first if len(first) <= 300 else first[:299] + "…"
    if "got" in details:
        values["got_words"] = _TYPE_WORDS.get(str(details["got"]), f"a {details['got']}")
    if "available" in details:
        keys = [str(key) for key in details.get("available") or []]
        listed = ", ".join(f"`{key}`" for key in keys) + (", …" if details.get("more") else "")
        values["available_words"] = f"It has: {listed}." if keys else "It is empty."
    where = str(details.get("where") or "")
    if where:
        values["where_words"] = "The input" if where == "S.data" else f"`{where[2:]}`"
    status = details.get("status")
    if isinstance(status, int):
        values["variant"] = (
            "5xx" if status >= 500 else str(status) if status in (401, 403, 404) else "4xx"
        )
    if "path" in details:
        values["path_words"] = f"`{str(details['path']).removeprefix('S.')}`"
    return values


def _shown(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class _Strict(dict):
    def __missing__(self, key: str) -> str:
        raise KeyError(key)


def _first_fitting(templates: tuple[str, ...], values: dict) -> str | None:
    """The first template whose every field is known, filled in."""
    for template in templates:
        try:
            return string.Formatter().vformat(template, (), _Strict(values))
        except (KeyError, IndexError, ValueError):
            continue
    return None


def _place(step_name: str | None, record: object) -> str:
    parts = []
    if step_name:
        parts.append(f"Step “{step_name}”")
    if isinstance(record, int) and not isinstance(record, bool):
        parts.append(f"record {record}" if parts else f"Record {record}")
    return ", ".join(parts) + ": " if parts else ""
