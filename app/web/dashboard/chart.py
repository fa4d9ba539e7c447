"""Geometry of the dashboard's stacked bar chart, drawn as SVG by a template (no JavaScript)."""

from __future__ import annotations

from dataclasses import dataclass

from app.services.history.dashboard import Bucket

# Stack order, bottom up, and colours matching the state badges (UI.md).
STATE_COLOURS = {
    "success": "#198754",
    "failed": "#dc3545",
    "crashed": "#ffc107",
    "killed": "#6f42c1",
    "exception": "#842029",
    "lost": "#6c757d",
    "cancelled": "#adb5bd",
    "started": "#0a58ca",
    "claimed": "#0d6efd",
    "available": "#6ea8fe",
}
WIDTH, HEIGHT = 720, 220
LEFT, BOTTOM, TOP = 40, 24, 10


@dataclass(frozen=True)
class Segment:
    """One state's part of one bar."""

    state: str
    count: int
    x: float
    y: float
    width: float
    height: float
    colour: str


@dataclass(frozen=True)
class Chart:
    """Bars, y-axis ticks and x labels for the SVG."""

    segments: list[Segment]
    ticks: list[tuple[float, int]]  # (y, value)
    labels: list[tuple[float, str]]  # (x centre, text)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: int = HEIGHT - BOTTOM


def build(buckets: list[Bucket], unit: str) -> Chart:
    """Lay out one stacked bar per bucket, scaled to the busiest bucket."""
    peak = _nice(max((b.total for b in buckets), default=0))
    plot_height = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT) / max(len(buckets), 1)
    bar = slot * 0.7
    segments: list[Segment] = []
    labels: list[tuple[float, str]] = []
    every = 3 if unit == "hour" else (1 if len(buckets) <= 7 else 5)
    for index, bucket in enumerate(buckets):
        x = LEFT + index * slot + (slot - bar) / 2
        y = float(HEIGHT - BOTTOM)
        for state, colour in STATE_COLOURS.items():
            count = bucket.counts.get(state, 0)
            if not count:
                continue
            height = plot_height * count / peak
            y -= height
            segments.append(Segment(state, count, x, y, bar, height, colour))
        if index % every == 0:
            text = (
                bucket.start.strftime("%H:00") if unit == "hour" else bucket.start.strftime("%d %b")
            )
            labels.append((x + bar / 2, text))
    ticks = [(HEIGHT - BOTTOM - plot_height * i / 4, round(peak * i / 4)) for i in range(5)]
    return Chart(segments, ticks, labels)


def _nice(value: int) -> int:
    """A round axis maximum at or above `value` (at least 4, so ticks are whole numbers)."""
    for nice in (4, 8, 12, 20, 40, 60, 100, 200, 400, 600, 1000):
        if value <= nice:
            return nice
    magnitude = 10 ** (len(str(value)) - 1)
    return -(-value // magnitude) * magnitude
