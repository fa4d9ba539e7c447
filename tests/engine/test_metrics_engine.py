"""`/metrics` against the real engine: webhooks accepted by gunicorn and runs executed by RQ
worker processes show up in the histograms, the worker gauge follows a worker leaving, and
the run counts equal the database's."""

from __future__ import annotations

import dataclasses
import signal
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.models import Run, RunState
from tests.engine.helpers import new_workflow, post_webhook, wait_for_work_order
from tests.engine.test_runs_end_to_end import workflow_yaml

TOKEN = "engine-metrics-token-0123456789"


@pytest.fixture(scope="module")
def scraper(stack):
    """An app on the stack's database and Redis with a metrics token (the stack's own web
    server has none): what it serves comes from what the stack's processes recorded."""
    return create_app(dataclasses.replace(stack.settings, metrics_token=TOKEN))


def scrape(app) -> dict[tuple[str, tuple], float]:
    """The metrics, parsed by prometheus_client's parser."""
    response = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def test_histograms_count_the_runs_and_steps_the_workers_ran(stack, scraper):
    document = workflow_yaml(
        "Metrics",
        {
            "check": ("common@1", "fn(lambda state: state if state['data']['ok'] else 1 / 0)"),
            "store": ("common@1", "fn(lambda state: state)"),
        },
        [("hook", "check", "always", None), ("check", "store", "on_job_success", None)],
    )
    workflow = new_workflow(stack, document)
    before = scrape(scraper)

    accepted = []
    for ok in (True, True, False):
        response = post_webhook(stack, workflow["triggers"]["hook"], {"ok": ok})
        assert response.status_code == 200
        accepted.append(response.json()["work_order_id"])
    orders = [wait_for_work_order(stack, work_order_id) for work_order_id in accepted]
    after = scrape(scraper)

    def delta(name: str, **labels) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    runs = [run for order in orders for run in order["runs"]]
    assert [run["state"] for run in runs] == ["success", "success", "failed"]
    assert delta("ferry_webhook_accept_seconds_count") == 3  # observed in gunicorn
    assert delta("ferry_run_duration_seconds_count", state="success") == 2
    assert delta("ferry_run_duration_seconds_count", state="failed") == 1
    took = sum((run["finished_at"] - run["started_at"]).total_seconds() for run in runs[:2])
    assert delta("ferry_run_duration_seconds_sum", state="success") == pytest.approx(took, abs=0.25)
    exits: dict[str, int] = {}
    for order in orders:
        for step in order["steps"]:
            exits[step["exit_reason"]] = exits.get(step["exit_reason"], 0) + 1
    assert sum(exits.values()) == 5
    for reason, count in exits.items():
        assert delta("ferry_step_duration_seconds_count", exit_reason=reason) == count


def test_the_worker_gauge_follows_a_worker_stopping(stack, scraper):
    def workers() -> float:
        return scrape(scraper)[("ferry_workers", ())]

    live = [w for w in stack.workers if w.poll() is None]
    assert len(live) >= 1
    # A worker an earlier test started in place of another may still be booting (it counts
    # once RQ registers it), and one killed outright may still count until RQ's key for it
    # expires; one that stops properly leaves the count at once.
    deadline = time.monotonic() + 30
    while (before := workers()) < len(live) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert before >= len(live)
    found = scrape(scraper)
    assert found[("ferry_queue_workers", (("queue", "runs-priority"),))] == before
    assert found[("ferry_queue_workers", (("queue", "runs"),))] == before
    leaving = live[0]
    leaving.send_signal(signal.SIGTERM)  # a warm shutdown: RQ unregisters the worker
    try:
        leaving.wait(timeout=30)
        after = scrape(scraper)
    finally:
        stack.replace_worker(leaving)  # its successor starts while the next tests run
    assert after[("ferry_workers", ())] == before - 1
    assert after[("ferry_queue_workers", (("queue", "runs"),))] == before - 1


def test_run_counts_by_state_equal_the_database(stack, scraper):
    def counted() -> dict[str, int]:
        with stack.app.app_context():
            rows = db.session.execute(select(Run.state, func.count()).group_by(Run.state)).all()
            db.session.remove()
        return {RunState(state).value: count for state, count in rows}

    # The scheduler may finish or reap a run meanwhile: compare a scrape taken between two
    # equal database readings.
    deadline = time.monotonic() + 20
    while True:
        first = counted()
        found = scrape(scraper)
        if counted() == first or time.monotonic() > deadline:
            break
    assert sum(first.values()) > 0
    for state in RunState:
        assert found[("ferry_runs", (("state", state.value),))] == first.get(state.value, 0)
