"""`ferry worker --processes N`: N worker processes, some kept for the priority lane.

A person waiting in the studio (a manual run, a retry) or a caller holding a synchronous
webhook open must not wait behind a bulk rerun of 100,000 work orders. A worker listening on
both lanes already takes priority runs first, but only once its current run ends, and when
every process is busy with batch work that is one run's time at best. So FERRY_PRIORITY_SLOTS
of the N processes listen on the priority queue alone and stay free for it; the others take
priority runs first, then batch runs, mail and other jobs.

Each process is a fresh `ferry worker --lane ...` child (its own app, database pool and
sandbox server), watched by this parent: SIGTERM or Ctrl+C is passed on to every child (each
finishes its current run), and a child that dies meanwhile is started again.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time

from app.config import ConfigError

log = logging.getLogger("ferry.worker")
RESTART_AFTER_S = 1.0
LANE_ALL = "all"
LANE_PRIORITY = "priority"


def lanes(processes: int, priority_slots: int) -> list[str]:
    """The lane of each of `processes` worker processes: `priority_slots` of them take only
    priority runs. One process keeps no slot (it takes priority runs first anyway); slots that
    would leave no process for batch work are a ConfigError naming both numbers."""
    if processes < 1:
        raise ConfigError(f"--processes must be at least 1, not {processes}.")
    if processes == 1 or priority_slots == 0:
        return [LANE_ALL] * processes
    if priority_slots >= processes:
        raise ConfigError(
            f"FERRY_PRIORITY_SLOTS={priority_slots} would keep all {processes} worker "
            "processes for the priority lane, and batch runs (webhooks, cron, bulk reruns) "
            f"would never run: use --processes {priority_slots + 1} or more, or lower "
            "FERRY_PRIORITY_SLOTS."
        )
    return [LANE_PRIORITY] * priority_slots + [LANE_ALL] * (processes - priority_slots)


def run_pool(plan: list[str], *, burst: bool = False) -> int:
    """Start one child per lane in `plan` and watch them until stopped; returns the exit
    code (with `burst`, once every child has emptied its queues: the worst child's code)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    children = [_spawn(lane, burst) for lane in plan]
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info(
        "worker pool: %d processes, %d for the priority lane only",
        len(plan),
        plan.count(LANE_PRIORITY),
    )
    while True:
        codes = [child.poll() for child in children]
        if all(code is not None for code in codes) and (stopping or burst):
            return max((abs(code) for code in codes), default=0)
        if not stopping and not burst:
            for index, code in enumerate(codes):
                if code is not None:
                    log.error(
                        "worker process %d (%s lane) exited with code %s; starting it again",
                        children[index].pid,
                        plan[index],
                        code,
                    )
                    time.sleep(RESTART_AFTER_S)
                    children[index] = _spawn(plan[index], burst)
        time.sleep(0.2)


def _spawn(lane: str, burst: bool) -> subprocess.Popen:
    """A child worker process on `lane`, with this process's environment."""
    argv = [sys.executable, "-m", "workers", "worker", "--lane", lane]
    # A session of its own: Ctrl+C in a terminal reaches the parent only, which passes one
    # SIGTERM on. A child that got both would take the second as a cold shutdown (RQ's rule)
    # and stop in the middle of a run.
    return subprocess.Popen([*argv, "--burst"] if burst else argv, start_new_session=True)
