"""The OpenAPI schema of a retry policy (`retry_policy` in a workflow document and its jobs),
built from the bounds `runs.retry_policy` checks, so the two never disagree."""

from __future__ import annotations

from app.services.runs import retry_policy

RETRY_POLICY = {
    "type": ["object", "null"],
    "description": "Automatic retries after failures another system caused (never a compile "
    "error or the job's own raise); keys left out take their defaults. On a job, null means "
    "the workflow's policy applies and {max_attempts: 1} means never retried.",
    "additionalProperties": False,
    "properties": {
        "max_attempts": {
            "type": "integer",
            "minimum": 1,
            "maximum": retry_policy.MAX_ATTEMPTS,
            "description": "Attempts in all, the first included.",
        },
        "initial_delay_s": {"type": "number", "minimum": 0.1},
        "factor": {"type": "number", "minimum": 1, "maximum": 10},
        "max_delay_s": {"type": "number", "maximum": retry_policy.MAX_DELAY_S},
        "jitter": {"type": "number", "minimum": 0, "maximum": 1},
        "retry_on": {
            "type": "array",
            "minItems": 1,
            "items": {"enum": list(retry_policy.RETRY_KINDS)},
        },
    },
}
