"""An HTTP error answer's `Retry-After` (seconds or an HTTP date) travels in the error's
details as seconds, for automatic retries to honour."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from workers.adaptors.http_failures import retry_after_s, status_failure

NOW = datetime(2026, 12, 3, 9, 0, 0, tzinfo=UTC)


def answer(status: int, headers: dict) -> httpx.Response:
    request = httpx.Request("GET", "http://dhis2.lan:8080/api/events?page=2")
    return httpx.Response(status, headers=headers, request=request)


def test_retry_after_in_seconds_is_in_the_errors_details():
    error = status_failure(answer(503, {"Retry-After": "120"}), "unavailable", "down")
    assert error.details["retry_after_s"] == 120.0
    assert error.details["status"] == 503 and error.code == "http_error"


def test_an_answer_without_retry_after_has_no_wait_in_its_details():
    error = status_failure(answer(500, {}), "broken", "oops")
    assert "retry_after_s" not in error.details


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("0", 0.0),
        (" 7 ", 7.0),
        ("Thu, 03 Dec 2026 09:01:30 GMT", 90.0),
        # A date already past asks for no wait at all, never a negative one.
        ("Thu, 03 Dec 2026 08:00:00 GMT", 0.0),
    ],
)
def test_retry_after_is_read_as_seconds_or_as_a_date(header, seconds):
    assert retry_after_s(header, NOW) == seconds


@pytest.mark.parametrize("header", [None, "", "soon", "-5", "1.5e3", "Someday, 99 Foo"])
def test_an_unreadable_retry_after_is_left_out(header):
    assert retry_after_s(header, NOW) is None
