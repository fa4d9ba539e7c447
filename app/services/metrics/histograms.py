"""Histograms that many processes observe into and any web process reads: run and step
durations (RQ workers) and webhook accept latency (gunicorn workers).

Each histogram is one Redis hash. An observation adds two commands to a pipeline the caller
is sending anyway (`observe`): HINCRBY on the field of the one bucket the value falls in,
and HINCRBYFLOAT on the sum. Buckets are stored non-cumulative, so an observation touches
one bucket field only; `read` adds them up into Prometheus's cumulative `le` buckets and
takes the count from the `+Inf` total. Fields are named `<label value>|<upper bound>`, so
changing a histogram's bounds later leaves old fields unread rather than miscounted.

Why not prometheus_client's multiprocess mode: it needs every process on one host sharing
one directory (RQ workers often run elsewhere) and files cleaned up after dead processes;
every Ferry process already shares Redis. The counters start again from zero if Redis loses
its data, which Prometheus reads as a counter reset, as after any restart.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from redis.client import Pipeline

KEY_PREFIX = "ferry:metrics:"
INF = "+Inf"


@dataclass(frozen=True)
class Histogram:
    """A histogram's metric name, help text, label name (or None) and bucket upper bounds."""

    name: str
    documentation: str
    label: str | None
    bounds: tuple[float, ...]

    @property
    def key(self) -> str:
        """The Redis hash holding this histogram's counters."""
        return KEY_PREFIX + self.name


RUN_DURATION = Histogram(
    "ferry_run_duration_seconds",
    "Time from a run's start to its end, observed by the worker that ran it, by final state.",
    "state",
    (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600),
)
STEP_DURATION = Histogram(
    "ferry_step_duration_seconds",
    "Time a step took in the sandbox, observed by the worker, by exit reason.",
    "exit_reason",
    (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
WEBHOOK_ACCEPT = Histogram(
    "ferry_webhook_accept_seconds",
    "Time from a webhook request reaching Ferry's view to its run being stored and queued.",
    None,
    (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
HISTOGRAMS = (RUN_DURATION, STEP_DURATION, WEBHOOK_ACCEPT)


@dataclass(frozen=True)
class Series:
    """One label value's cumulative buckets [(le, count)] and the sum of its observations."""

    label_value: str
    buckets: list[tuple[str, float]]
    total: float


def observe(pipe: Pipeline, histogram: Histogram, seconds: float, label_value: str = "") -> None:
    """Add one observation to `pipe` (two commands); the caller executes the pipeline."""
    bucket_field, sum_field, seconds = observation(histogram, seconds, label_value)
    pipe.hincrby(histogram.key, bucket_field, 1)
    pipe.hincrbyfloat(histogram.key, sum_field, seconds)


def observation(
    histogram: Histogram, seconds: float, label_value: str = ""
) -> tuple[str, str, float]:
    """(the bucket field to add 1 to, the sum field, the seconds to add to it): what `observe`
    sends, for callers that send it inside a script of their own."""
    seconds = max(0.0, seconds)
    position = bisect.bisect_left(histogram.bounds, seconds)
    bound = _bound_text(histogram.bounds[position]) if position < len(histogram.bounds) else INF
    return f"{label_value}|{bound}", f"{label_value}|sum", seconds


def series(histogram: Histogram, fields: dict) -> list[Series]:
    """The histogram's series from its hash (as HGETALL returns it), one per label value."""
    counts: dict[str, dict[str, float]] = {}
    for raw_field, raw_value in fields.items():
        label_value, _, bound = _text(raw_field).rpartition("|")
        counts.setdefault(label_value, {})[bound] = float(_text(raw_value))
    found = []
    for label_value in sorted(counts):
        own = counts[label_value]
        running, buckets = 0.0, []
        for bound in [*(_bound_text(b) for b in histogram.bounds), INF]:
            running += own.get(bound, 0.0)
            buckets.append((bound, running))
        found.append(Series(label_value, buckets, own.get("sum", 0.0)))
    return found


def _bound_text(bound: float) -> str:
    return repr(float(bound))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
