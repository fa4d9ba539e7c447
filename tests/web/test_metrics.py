"""`GET /metrics`: the token guards it, its gauges equal the database's counts, its
histograms count what was observed, and a missing Redis or database is said plainly."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis
from redis.client import Pipeline
from sqlalchemy import func, select

from app import create_app
from app.config import ConfigError, Settings
from app.extensions import db as _db
from app.models import Run, RunState
from app.services.metrics import gauges, histograms
from tests import history_factories as rows

TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture
def metrics_on(app, monkeypatch):
    """The session's app with FERRY_METRICS_TOKEN set, for this test only."""
    settings = dataclasses.replace(app.config["FERRY_SETTINGS"], metrics_token=TOKEN)
    monkeypatch.setitem(app.config, "FERRY_SETTINGS", settings)
    return settings


def scrape(client, **kwargs) -> dict[tuple[str, tuple], float]:
    """GET /metrics with the token; {(sample name, sorted labels): value}."""
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    return parse(response.get_data(as_text=True))


def parse(text: str) -> dict[tuple[str, tuple], float]:
    """Prometheus text, read by prometheus_client's own parser."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_are_off_until_a_token_is_configured(client):
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 404
    assert "set FERRY_METRICS_TOKEN" in response.get_data(as_text=True)
    assert "ferry_runs" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "headers,query",
    [
        ({}, ""),
        ({"Authorization": "Bearer not-the-token-at-all-000000"}, ""),
        ({"Authorization": f"Basic {TOKEN}"}, ""),
        ({"Authorization": "Bearer"}, ""),
        ({}, "?token=not-the-token-at-all-000000"),
        ({}, f"?token={TOKEN[:-1]}"),
        ({}, "?token="),
        ({"Authorization": "Bearer t\u00f6ken-\u00fcnicode-0123456789"}, ""),
        ({"Authorization": "Bearer " + "x" * 5000}, ""),
    ],
    ids=[
        "no-token",
        "wrong-bearer",
        "basic-scheme",
        "empty-bearer",
        "wrong-query",
        "prefix",
        "empty-query",
        "non-ascii",
        "very-long",
    ],
)
def test_a_missing_or_wrong_token_is_refused(client, metrics_on, headers, query):
    response = client.get("/metrics" + query, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    text = response.get_data(as_text=True)
    assert "Authorization: Bearer <token>" in text and "ferry_runs" not in text
    assert "Set-Cookie" not in response.headers


def test_the_token_works_as_bearer_header_or_query_parameter(client, metrics_on):
    by_header = client.get("/metrics", headers={"Authorization": f"bearer {TOKEN}"})
    by_query = client.get(f"/metrics?token={TOKEN}")
    for response in (by_header, by_query):
        assert response.status_code == 200
        assert response.content_type.startswith("text/plain; version=0.0.4")
        assert response.headers["Cache-Control"] == "no-store"
        assert "Set-Cookie" not in response.headers
        assert ("ferry_redis_up", ()) in parse(response.get_data(as_text=True))


def test_gauges_equal_the_database_counts(client, metrics_on, flow):
    now = rows.at()
    for state in ("success", "success", "failed", "crashed", "running"):
        rows.work_order(flow, state=state)
    rows.work_order(flow, state="lost", received=rows.at(minutes_ago=180))
    rows.work_order(flow, state="lost", received=rows.at(minutes_ago=10))
    queued = {
        "priority": [(0, rows.at(minutes_ago=7)), (0, rows.at(minutes_ago=2))],
        "batch": [(1, rows.at(minutes_ago=30)), (1, now), (1, now), (2, rows.at(minutes_ago=1))],
    }
    for lane in queued.values():
        for priority, inserted in lane:
            order = rows.work_order(flow, state="pending", received=inserted)
            _only_run(order).priority = priority
    # A retry due in an hour waits outside the queue; one that fell due 5 minutes ago
    # (first queued long ago) is back in it and has waited 5 minutes, not a day.
    waiting = _only_run(rows.work_order(flow, state="pending", received=rows.at(days_ago=1)))
    waiting.available_at = now + timedelta(hours=1)
    due = _only_run(rows.work_order(flow, state="pending", received=rows.at(days_ago=1)))
    due.available_at = rows.at(minutes_ago=5)
    due.priority = 0
    _db.session.commit()

    found = scrape(client)

    database = dict(_db.session.execute(select(Run.state, func.count()).group_by(Run.state)).all())
    for state in RunState:
        assert found[("ferry_runs", (("state", state.value),))] == database.get(state, 0), state
    assert found[("ferry_runs", (("state", "available"),))] == 8
    assert found[("ferry_runs", (("state", "success"),))] == 2
    assert found[("ferry_queue_depth", (("lane", "priority"),))] == 3
    assert found[("ferry_queue_depth", (("lane", "batch"),))] == 4
    assert found[("ferry_runs_waiting_retry", (("lane", "batch"),))] == 1
    assert found[("ferry_runs_waiting_retry", (("lane", "priority"),))] == 0
    assert found[("ferry_queue_oldest_age_seconds", (("lane", "batch"),))] == pytest.approx(
        30 * 60, abs=30
    )
    assert found[("ferry_queue_oldest_age_seconds", (("lane", "priority"),))] == pytest.approx(
        7 * 60, abs=30
    )
    assert found[("ferry_runs_lost_last_hour", ())] == 1


def test_an_empty_queue_is_zero_deep_and_zero_old(client, metrics_on, flow):
    rows.work_order(flow, state="success")
    found = scrape(client)
    for lane in ("priority", "batch"):
        assert found[("ferry_queue_depth", (("lane", lane),))] == 0
        assert found[("ferry_queue_oldest_age_seconds", (("lane", lane),))] == 0


def test_histograms_add_up_what_every_process_observed(client, metrics_on, settings):
    before = scrape(client)
    # Observed as workers do: into a pipeline sent to the shared Redis.
    redis = Redis.from_url(settings.redis_url)
    pipe = redis.pipeline(transaction=False)
    for seconds in (0.03, 0.2, 0.2, 7.0, 5000.0):
        histograms.observe(pipe, histograms.RUN_DURATION, seconds, "success")
    histograms.observe(pipe, histograms.STEP_DURATION, 0.004, "failed")
    pipe.execute()

    found = scrape(client)

    def delta(name: str, **labels) -> float:
        key = (name, tuple(sorted(labels.items())))
        return found[key] - before.get(key, 0.0)

    run = "ferry_run_duration_seconds"
    assert delta(f"{run}_count", state="success") == 5
    assert delta(f"{run}_sum", state="success") == pytest.approx(5007.43)
    assert delta(f"{run}_bucket", state="success", le="0.05") == 1
    assert delta(f"{run}_bucket", state="success", le="0.25") == 3
    assert delta(f"{run}_bucket", state="success", le="10.0") == 4
    assert delta(f"{run}_bucket", state="success", le="3600.0") == 4
    assert delta(f"{run}_bucket", state="success", le="+Inf") == 5
    step = "ferry_step_duration_seconds"
    assert delta(f"{step}_bucket", exit_reason="failed", le="0.005") == 1
    assert delta(f"{step}_count", exit_reason="failed") == 1


def test_a_webhook_accept_is_timed_in_the_enqueue_round_trip(client, metrics_on, flow, monkeypatch):
    name = "ferry_webhook_accept_seconds_count"
    trigger_id = flow.triggers[0].id
    # The first enqueue on a Redis loads the enqueue script: not the round trip counted here.
    assert client.post(f"/i/{trigger_id}", json={"patient": 0}).status_code == 200
    before = scrape(client)[(name, ())]
    with pytest.MonkeyPatch.context() as patch:
        trips = _count_redis_round_trips(patch)
        response = client.post(f"/i/{trigger_id}", json={"patient": 1})
    assert response.status_code == 200
    # The accept path is benchmarked: the enqueue is one command (a script), and timing it
    # adds arguments to that command, no round trip.
    assert trips == {"pipelines": 0, "commands": 1}
    refused = client.post(f"/i/{trigger_id}", data="{", content_type="application/json")
    assert refused.status_code == 400

    found = scrape(client)

    assert found[(name, ())] == before + 1  # the refused request was never accepted
    assert found[("ferry_webhook_accept_seconds_sum", ())] > 0


def test_without_redis_the_database_gauges_are_still_served(settings, db, flow):
    rows.work_order(flow, state="failed")
    away = dataclasses.replace(settings, redis_url="redis://127.0.0.1:1/0", metrics_token=TOKEN)
    # The test's database session is shared by every app in this process (tests/conftest.py).
    found = scrape(create_app(away).test_client())
    assert found[("ferry_redis_up", ())] == 0
    assert ("ferry_runs", (("state", "failed"),)) in found
    assert not any(name.startswith("ferry_workers") for name, _ in found)


def test_without_the_database_the_scrape_says_so(settings):
    away = dataclasses.replace(
        settings,
        database_url="postgresql+psycopg://postgres@127.0.0.1:1/nothing",
        metrics_token=TOKEN,
    )
    response = create_app(away).test_client().get(f"/metrics?token={TOKEN}")
    assert response.status_code == 503
    assert "database is not reachable" in response.get_data(as_text=True)


def test_queue_age_reads_the_demo_databases_naive_times_as_utc():
    now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    assert gauges.age_s(now, datetime(2026, 12, 3, 8, 59, 30)) == 30
    assert gauges.age_s(now, datetime(2026, 12, 3, 8, 0, tzinfo=UTC)) == 3600
    assert gauges.age_s(now, now + timedelta(seconds=5)) == 0


def test_the_token_setting_is_read_and_checked():
    base = {"REDIS_URL": "redis://127.0.0.1:6379/0"}
    assert Settings.from_env(base).metrics_token is None
    assert Settings.from_env({**base, "FERRY_METRICS_TOKEN": "   "}).metrics_token is None
    assert Settings.from_env({**base, "FERRY_METRICS_TOKEN": f" {TOKEN} "}).metrics_token == TOKEN
    with pytest.raises(ConfigError, match="FERRY_METRICS_TOKEN is too short"):
        Settings.from_env({**base, "FERRY_METRICS_TOKEN": "short"})


def _count_redis_round_trips(monkeypatch) -> dict[str, int]:
    """Count pipelines sent and single commands sent to Redis from now on."""
    trips = {"pipelines": 0, "commands": 0}
    send_pipeline, send_command = Pipeline.execute, Redis.execute_command

    def pipeline_sent(self, *args, **kwargs):
        trips["pipelines"] += 1
        return send_pipeline(self, *args, **kwargs)

    def command_sent(self, *args, **kwargs):
        trips["commands"] += 1
        return send_command(self, *args, **kwargs)

    monkeypatch.setattr(Pipeline, "execute", pipeline_sent)
    monkeypatch.setattr(Redis, "execute_command", command_sent)
    return trips


def _only_run(order) -> Run:
    return _db.session.scalars(select(Run).where(Run.work_order_id == order.id)).one()
