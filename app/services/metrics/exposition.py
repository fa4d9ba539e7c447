"""The text a Prometheus server scrapes from `/metrics`, built fresh on every scrape.

Nothing is kept between scrapes in the web process: the gauges come from the database and
RQ's registry, the histograms from their Redis hashes, and prometheus_client only formats
them (a registry of its own per scrape, so the process-wide default registry's
process/platform metrics, which would describe one gunicorn worker, stay out). When Redis
does not answer, the database's gauges are still served and `ferry_redis_up` says 0.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db, redis_client
from app.services.errors import ServiceError
from app.services.metrics import gauges, histograms, rq_workers

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
log = logging.getLogger("ferry.metrics")


class DatabaseUnavailable(ServiceError):
    """The database did not answer, so there is nothing worth serving (503)."""


class _Snapshot(Collector):
    """Hands prometheus_client the families read for one scrape."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        """The families, as read."""
        return iter(self.families)


def render() -> bytes:
    """Every metric, in Prometheus's text format (version 0.0.4)."""
    try:
        read = gauges.read()
    except SQLAlchemyError as error:
        log.warning("metrics: the database did not answer (%s)", error)
        db.session.rollback()
        raise DatabaseUnavailable(
            "The database is not reachable, so there are no metrics to serve."
        ) from None
    families = [*_database_families(read), *_redis_families()]
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(families))
    return generate_latest(registry)


def _database_families(read: gauges.RunGauges) -> Iterable[Metric]:
    runs = GaugeMetricFamily("ferry_runs", "Runs stored, by state.", labels=["state"])
    for state, count in read.by_state.items():
        runs.add_metric([state], count)
    yield runs
    depth = GaugeMetricFamily(
        "ferry_queue_depth",
        "Runs ready to be claimed, by lane (priority: manual runs and synchronous webhooks; "
        "batch: other webhooks, cron, bulk reruns).",
        labels=["lane"],
    )
    age = GaugeMetricFamily(
        "ferry_queue_oldest_age_seconds",
        "How long the oldest run ready to be claimed has waited, by lane (0 when none).",
        labels=["lane"],
    )
    waiting = GaugeMetricFamily(
        "ferry_runs_waiting_retry",
        "Runs waiting for an automatic retry that is not due yet (not in the queue depth).",
        labels=["lane"],
    )
    for name, lane in read.lanes.items():
        depth.add_metric([name], lane.depth)
        age.add_metric([name], round(lane.oldest_age_s, 3))
        waiting.add_metric([name], lane.waiting_retry)
    yield from (depth, age, waiting)
    yield GaugeMetricFamily(
        "ferry_runs_lost_last_hour",
        "Runs marked lost (their worker stopped reporting) in the last hour.",
        value=read.lost_last_hour,
    )


def _redis_families() -> Iterable[Metric]:
    connection = redis_client()
    try:
        workers = rq_workers.count_alive(connection)
        pipe = connection.pipeline(transaction=False)
        for histogram in histograms.HISTOGRAMS:
            pipe.hgetall(histogram.key)
        stored = pipe.execute()
    except (RedisError, OSError) as error:
        log.warning("metrics: Redis did not answer (%s); serving the database's only", error)
        yield GaugeMetricFamily("ferry_redis_up", "Whether Redis answered this scrape.", value=0)
        return
    yield GaugeMetricFamily("ferry_redis_up", "Whether Redis answered this scrape.", value=1)
    yield GaugeMetricFamily(
        "ferry_workers", "Live RQ workers (each listens on every queue).", value=workers.total
    )
    per_queue = GaugeMetricFamily(
        "ferry_queue_workers", "Live RQ workers listening on each queue.", labels=["queue"]
    )
    for queue_name, count in workers.by_queue.items():
        per_queue.add_metric([queue_name], count)
    yield per_queue
    for histogram, fields in zip(histograms.HISTOGRAMS, stored, strict=True):
        yield _histogram_family(histogram, fields)


def _histogram_family(histogram: histograms.Histogram, fields: dict) -> Metric:
    labels = [histogram.label] if histogram.label else []
    family = HistogramMetricFamily(histogram.name, histogram.documentation, labels=labels)
    found = histograms.series(histogram, fields)
    if not found and not labels:
        # An unlabelled histogram is shown from the start, so rate() has a zero to begin at.
        found = histograms.series(histogram, {"|sum": 0})
    for series in found:
        family.add_metric(
            [series.label_value] if labels else [], series.buckets, sum_value=series.total
        )
    return family
