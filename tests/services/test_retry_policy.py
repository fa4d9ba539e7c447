"""Retry policies: what a policy may say (each mistake named with the key to fix), which
failures are retried, and how long the next attempt waits (backoff, bounds, jitter and the
other system's Retry-After)."""

from __future__ import annotations

import random

import pytest

from app.services.errors import Invalid
from app.services.runs.retry_policy import (
    DEFAULTS,
    MAX_RETRY_AFTER_S,
    failure_kind,
    normalise,
    retry_delay,
)

NO_JITTER = {"max_attempts": 5, "initial_delay_s": 2, "factor": 3, "max_delay_s": 30, "jitter": 0}


def http_error(status: int, retry_after_s: float | None = None) -> dict:
    details: dict = {"status": status}
    if retry_after_s is not None:
        details["retry_after_s"] = retry_after_s
    return {"type": "JobError", "message": f"{status}", "code": "http_error", "details": details}


REFUSED = {"type": "JobError", "message": "refused", "code": "connection_refused"}


def test_no_policy_or_one_attempt_means_no_retries():
    assert normalise(None) is None
    assert normalise({}) is None
    assert normalise({"max_attempts": 1}) is None


def test_a_policy_is_filled_in_with_the_defaults():
    assert normalise({"max_attempts": 4}) == {**DEFAULTS, "max_attempts": 4}


@pytest.mark.parametrize(
    ("policy", "field", "words"),
    [
        ([3], "retry_policy", "must be an object"),
        ({"tries": 3}, "retry_policy.tries", "has no setting 'tries'"),
        ({"max_attempts": 0}, "retry_policy.max_attempts", "from 1 to 20"),
        ({"max_attempts": 2.5}, "retry_policy.max_attempts", "a whole number"),
        ({"max_attempts": True}, "retry_policy.max_attempts", "a whole number"),
        ({"initial_delay_s": "5"}, "retry_policy.initial_delay_s", "must be a number"),
        ({"factor": 11}, "retry_policy.factor", "from 1 to 10"),
        ({"jitter": -0.1}, "retry_policy.jitter", "from 0 to 1"),
        ({"retry_on": "http_5xx"}, "retry_policy.retry_on", "must be a list"),
        ({"retry_on": ["http_404"]}, "retry_policy.retry_on", "does not know 'http_404'"),
        ({"retry_on": []}, "retry_policy.retry_on", "at least one kind"),
        (
            {"initial_delay_s": 60, "max_delay_s": 10},
            "retry_policy.max_delay_s",
            "cannot be shorter than the first",
        ),
    ],
)
def test_a_mistaken_policy_names_the_key_and_what_it_accepts(policy, field, words):
    with pytest.raises(Invalid) as refused:
        normalise(policy)
    assert refused.value.field == field
    assert words in refused.value.message


def test_retry_on_keeps_a_stable_order_without_repeats():
    policy = normalise({"retry_on": ["http_5xx", "timeout", "http_5xx"]})
    assert policy["retry_on"] == ["timeout", "http_5xx"]


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (REFUSED, "connection"),
        ({"code": "dns_failed"}, "connection"),
        ({"code": "request_timeout"}, "timeout"),
        (http_error(429), "http_429"),
        (http_error(503), "http_5xx"),
        (http_error(404), None),
        (http_error(400), None),
        ({"code": "syntax_error"}, None),
        ({"code": "job_error"}, None),
        ({"code": "time_limit"}, None),
        ({"code": "memory_limit"}, None),
        ({"type": "ValueError", "message": "no code"}, None),
        (None, None),
    ],
)
def test_only_failures_another_system_caused_are_retried(error, kind):
    assert failure_kind(error) == kind


def test_the_wait_grows_by_the_factor_up_to_the_longest_wait():
    policy = normalise(NO_JITTER)
    waits = [retry_delay(policy, REFUSED, attempt) for attempt in (1, 2, 3, 4)]
    assert waits == [2.0, 6.0, 18.0, 30.0]


def test_no_wait_once_the_attempts_are_used_up():
    policy = normalise(NO_JITTER)
    assert retry_delay(policy, REFUSED, 5) is None
    assert retry_delay(None, REFUSED, 1) is None


def test_a_kind_the_policy_does_not_name_is_not_retried():
    policy = normalise({**NO_JITTER, "retry_on": ["http_429"]})
    assert retry_delay(policy, http_error(503), 1) is None
    assert retry_delay(policy, http_error(429), 1) == 2.0


def test_jitter_stays_within_its_share_of_the_wait():
    policy = normalise({**NO_JITTER, "jitter": 0.25, "initial_delay_s": 10, "max_delay_s": 10})
    rng = random.Random(17)
    waits = [retry_delay(policy, REFUSED, 1, rng) for _ in range(500)]
    assert all(7.5 <= wait <= 12.5 for wait in waits)
    assert max(waits) - min(waits) > 3, "the waits are spread, not all alike"


def test_retry_after_is_honoured_and_never_shortened():
    policy = normalise(NO_JITTER)
    assert retry_delay(policy, http_error(503, retry_after_s=45.0), 1) == 45.0
    # A shorter Retry-After than the backoff does not make the wait shorter.
    assert retry_delay(policy, http_error(429, retry_after_s=0.5), 2) == 6.0


def test_a_retry_after_too_far_away_ends_the_attempts():
    policy = normalise(NO_JITTER)
    assert retry_delay(policy, http_error(503, retry_after_s=MAX_RETRY_AFTER_S + 1), 1) is None


def test_a_nonsense_retry_after_is_ignored():
    policy = normalise(NO_JITTER)
    for asked in (-5, "soon", True):
        error = http_error(503)
        error["details"]["retry_after_s"] = asked
        assert retry_delay(policy, error, 1) == 2.0
