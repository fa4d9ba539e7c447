"""Retry policies in the workflow document: `retry_policy` on a job (a step) and at the top
(the default for steps without their own), read into what the columns store and written back.

The keys and their bounds are `runs.retry_policy`'s; this module adds what a document needs:
every problem recorded with its document path (`jobs.fetch.retry_policy.max_attempts`), and
a way for one step to opt out of the workflow's default. A step's `retry_policy` of null (or
absent) means "the workflow's default applies"; `{max_attempts: 1}` means "never retry this
step" (say, a POST that must not be sent twice) and is stored as a full policy with
max_attempts 1, which the engine reads as "the first attempt is the last". For the workflow,
`{max_attempts: 1}` is the same as no default at all. An empty mapping is no policy, as
`runs.retry_policy.normalise` says.
"""

from __future__ import annotations

from collections.abc import Mapping

from app.services.errors import Invalid
from app.services.parsing import kind_of
from app.services.runs import retry_policy
from app.services.workflows.shapes import Report

KEYS = tuple(retry_policy.DEFAULTS)


def read_policy(report: Report, value: object, path: str, *, step: bool) -> dict | None:
    """The policy to store for `value` (None: none here), recording any problem at `path`."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        report.add(
            path,
            f"retry_policy must be a mapping such as {{max_attempts: 3}}, not {kind_of(value)}"
            + ("; leave it out to use the workflow's default." if step else "."),
        )
        return None
    # normalise names the first unknown key only and sorts keys (which fails on a mix of
    # numbers and text); the document names every unknown key, whatever its type.
    unknown = [key for key in value if key not in retry_policy.DEFAULTS]
    for key in unknown:
        where = f"{path}.{key}" if isinstance(key, str) and key.isprintable() else path
        report.add(
            where,
            f"A retry policy has no setting {_show(key)}; use " + ", ".join(KEYS) + ".",
        )
    if unknown:
        return None
    try:
        policy = retry_policy.normalise(dict(value), path)
        if policy is None and value.get("max_attempts") == 1 and step:
            # The other settings still have to be right (checked as if a second attempt
            # were allowed), but mean nothing with one attempt: stored as the defaults, so
            # every "never retry" reads and compares the same.
            retry_policy.normalise({**value, "max_attempts": 2}, path)
            policy = {**_defaults(), "max_attempts": 1}
    except Invalid as error:
        report.add(error.field, error.message)
        return None
    return policy


def write_policy(policy: dict | None) -> dict | None:
    """A stored policy as the document writes it (`read_policy` gives it back)."""
    if not policy:
        return None
    if policy.get("max_attempts") == 1:
        return {"max_attempts": 1}
    return {key: policy[key] for key in KEYS if key in policy}


# Each setting in the words the Studio's Retries section uses.
WORDS = {
    "max_attempts": "attempts",
    "initial_delay_s": "first wait (s)",
    "factor": "factor",
    "max_delay_s": "longest wait (s)",
    "jitter": "jitter",
    "retry_on": "failures retried",
}


def change_words(field: str, *, default: bool = False) -> str:
    """A document field (`retry_policy.max_attempts`, `cron_input`) in words for a change
    list; `default` for the workflow's own policy (the default for its steps)."""
    head, _, rest = field.partition(".")
    if head != "retry_policy":
        return field.replace("_", " ")
    what = "default retries" if default else "retries"
    return f"{what}, {WORDS.get(rest, rest.replace('_', ' '))}" if rest else what


# Each failure kind as the Studio's checkboxes name it.
KIND_LABELS = {
    "connection": "Connection errors (refused, cut, unknown host)",
    "timeout": "Timeouts",
    "http_429": "HTTP 429 Too Many Requests",
    "http_5xx": "HTTP 5xx server errors (500 to 599)",
}


def studio_settings() -> dict:
    """What the Studio's Retries sections offer: the defaults, the bounds and each failure
    kind with its label (so the browser repeats none of them)."""
    return {
        "defaults": _defaults(),
        "max_attempts": retry_policy.MAX_ATTEMPTS,
        "max_delay_s": retry_policy.MAX_DELAY_S,
        "kinds": [
            {"name": name, "label": KIND_LABELS.get(name, words[0].upper() + words[1:])}
            for name, words in retry_policy.RETRY_KINDS.items()
        ],
    }


def _defaults() -> dict:
    """The defaults, normalised (floats, retry_on in its usual order)."""
    return retry_policy.normalise(dict(retry_policy.DEFAULTS)) or {}


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
