"""A killed worker's run is `lost` within 30 s, and a live worker's run never is.

The figure is made up of the settings (`app.services.runs.maintenance.lost_within_s`): the
first tests check that arithmetic for the defaults a deployment runs with; the engine stack
(`tests/engine/conftest.py`) runs with shorter settings, so that killing a worker
(`test_concurrency_and_faults.py`) and outliving the timeout (below) take seconds.
"""

from __future__ import annotations

import pytest

from app.config import ConfigError, Settings
from app.services.runs import maintenance
from tests.engine.helpers import new_workflow, post_webhook, wait_for_work_order
from tests.engine.test_runs_end_to_end import workflow_yaml
from workers import scheduler

PROMISE_S = 30.0
# Room left under the promise for what the arithmetic cannot bound: a scheduler tick slowed
# by its other tasks (cron, sweeper) or by a loaded machine.
MARGIN_S = 5.0


def test_with_the_default_settings_a_killed_workers_run_is_lost_well_within_30_s():
    for settings in (Settings(), Settings.from_env({})):
        worst = maintenance.lost_within_s(settings)
        assert worst == settings.lost_after_s + maintenance.REAPER_EVERY_S + (
            maintenance.SCHEDULER_TICK_S
        )
        assert worst <= PROMISE_S - MARGIN_S, f"worst case {worst} s leaves too little margin"


def test_a_live_worker_has_several_heartbeats_before_its_run_could_be_lost():
    settings = Settings()
    assert settings.lost_after_s >= 3 * settings.heartbeat_s


def test_the_scheduler_reaps_first_in_its_tick_at_the_period_the_figure_counts():
    tasks = scheduler.periodic_tasks()
    assert tasks[0].name == "reaper", "other tasks in a tick must not delay the reaper"
    assert tasks[0].every_s == maintenance.REAPER_EVERY_S


def test_a_timeout_shorter_than_three_heartbeats_is_refused_naming_both_settings():
    environ = {"FERRY_HEARTBEAT_S": "5", "FERRY_LOST_AFTER_S": "10"}
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(environ)
    assert "FERRY_LOST_AFTER_S" in str(refused.value) and "FERRY_HEARTBEAT_S" in str(refused.value)


def test_a_run_outliving_the_lost_timeout_on_a_live_worker_succeeds(stack):
    outlive_s = 2 * int(stack.env["FERRY_LOST_AFTER_S"])
    slow = {
        "step": ("common@1", f"import time\nfn(lambda state: (time.sleep({outlive_s}), state)[1])")
    }
    workflow = new_workflow(
        stack, workflow_yaml("Long but alive", slow, [("hook", "step", "always", None)])
    )
    accepted = post_webhook(stack, workflow["triggers"]["hook"], {})
    result = wait_for_work_order(stack, accepted.json()["work_order_id"], seconds=outlive_s + 30)
    assert result["runs"][0]["state"] == "success", result["runs"][0]["error_message"]
    assert result["steps"][0]["exit_reason"] == "success"
