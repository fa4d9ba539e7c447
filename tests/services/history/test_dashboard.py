"""Dashboard figures per period, the chart buckets, and the dashboard page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.services.errors import Invalid
from app.services.history import dashboard
from tests import factories
from tests import history_factories as hf

NOW = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)


@pytest.fixture
def project(user, db):
    return factories.project(user)


@pytest.fixture
def flows(project):
    return hf.workflow(project, "Patient sync"), hf.workflow(project, "Stock levels")


def hours_ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


def test_figures_for_each_period(project, flows):
    sync, stock = flows
    hf.work_order(sync, state="success", received=hours_ago(1))
    hf.work_order(sync, state="failed", received=hours_ago(2))
    hf.work_order(stock, state="crashed", received=hours_ago(3))
    hf.work_order(stock, state="cancelled", received=hours_ago(3))
    hf.work_order(stock, state="pending", received=hours_ago(4))
    hf.work_order(sync, state="success", received=hours_ago(24 * 3))
    hf.work_order(sync, state="failed", received=hours_ago(24 * 20))

    day = dashboard.dashboard(project.id, "24h", now=NOW)
    assert day.work_orders == 5 and day.runs == 5
    assert day.failures == 2
    # success / finished runs, cancelled runs not counted as finished work
    assert day.success_rate == pytest.approx(1 / 3)
    assert [(w.name, w.failures) for w in day.failing_workflows] == [
        ("Patient sync", 1),
        ("Stock levels", 1),
    ]
    week = dashboard.dashboard(project.id, "7d", now=NOW)
    assert week.work_orders == 6 and week.runs_by_state["success"] == 2
    month = dashboard.dashboard(project.id, "30d", now=NOW)
    assert month.work_orders == 7 and month.failures == 3


def test_buckets_are_hours_or_days_in_utc(project, flows):
    hf.work_order(flows[0], state="success", received=hours_ago(0))
    hf.work_order(flows[0], state="failed", received=hours_ago(0))
    hf.work_order(flows[0], state="success", received=hours_ago(5))
    day = dashboard.dashboard(project.id, "24h", now=NOW)
    assert len(day.buckets) == 24
    assert day.buckets[-1].start == NOW.replace(minute=0)
    assert day.buckets[-1].counts == {"success": 1, "failed": 1}
    assert day.buckets[-6].counts == {"success": 1}
    assert sum(b.total for b in day.buckets) == 3
    month = dashboard.dashboard(project.id, "30d", now=NOW)
    assert len(month.buckets) == 30 and month.buckets[-1].start.hour == 0
    assert month.buckets[-1].total >= 2


def test_workflows_list_their_last_failure_ever(project, flows):
    sync = flows[0]
    long_ago = hours_ago(24 * 90)
    hf.work_order(sync, state="lost", received=long_ago)
    hf.work_order(sync, state="success", received=hours_ago(1))
    health = {w.name: w for w in dashboard.dashboard(project.id, "24h", now=NOW).workflows}
    assert health["Patient sync"].last_failure_at == long_ago
    assert health["Patient sync"].runs == 1 and health["Patient sync"].failures == 0
    assert health["Stock levels"].last_failure_at is None


def test_an_unknown_period_is_invalid(project):
    with pytest.raises(Invalid):
        dashboard.dashboard(project.id, "1y")


def test_the_page_draws_figures_chart_and_links(signed_in, project, flows):
    hf.work_order(flows[0], state="failed", received=datetime.now(UTC) - timedelta(minutes=5))
    hf.work_order(flows[0], state="success", received=datetime.now(UTC) - timedelta(minutes=4))
    html = signed_in.get(f"/projects/{project.id}/dashboard?period=7d").get_data(as_text=True)
    assert "<title>Dashboard — " in html
    assert 'aria-current="page" href="/projects/' in html and "Last 7 days" in html
    assert "50.0 %" in html
    assert (
        '<rect x="' in html and 'data-state="failed"' in html and "<title>1 failed</title>" in html
    )
    assert "state=failed&amp;state=crashed" in html and f"workflow={flows[0].id}" in html
    assert "Runs per day by state" in html


def test_the_page_explains_an_empty_period(signed_in, project):
    html = signed_in.get(f"/projects/{project.id}/dashboard?period=nonsense").get_data(as_text=True)
    assert "No runs in the last 24 hours." in html
    assert "No workflows yet." in html
