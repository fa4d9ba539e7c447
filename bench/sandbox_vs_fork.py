"""A trivial sandboxed step against the bare fork it cannot beat, alternating in one run.

    .venv/bin/python bench/sandbox_vs_fork.py [--rounds 3] [--steps 500]
        [--reference /work/shared/bench-reference/fork_per_step.py]

The reference (`fork_per_step.py`, see its folder's README) is a warm interpreter with httpx
and jsonschema imported that forks a child per step, sets two rlimits, runs
`state['data'] = {'x': state['data']['x'] + 1}` and returns JSON through a pipe; it runs 500
steps when started and prints their mean, so each reference round is that script run as a
subprocess, its line parsed. Each Ferry round runs the same job as a Ferry step through a
worker's sandboxes (`AdaptorSandboxes`), 500 steps one after the other, and takes the mean
the same way (wall time / steps, as the caller of `run` sees it). Rounds alternate reference,
Ferry, reference, Ferry, ... because this machine's speed changes by up to 2x from hour to
hour; each round prints its ms per step, each pair the ratio Ferry / reference, and the end
the median ratio (target <= 2.0).

Each round also prints the CPU per step of every process involved (the reference: its
process and its children, its imports excluded; Ferry: this process, which stands for the
worker, the sandbox server and its step processes), and its ratio: when other work shares
the machine, wall time swings with the scheduler while CPU time stays put.

`sys.path` starts with this file's checkout, so a copy of the tree measures its own code.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's `workers`

from bench.runtime import machine
from workers.runtime.protocol import StepRequest
from workers.runtime.sandboxes import AdaptorSandboxes

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "bench-reference" / "fork_per_step.py"
# The reference's job, `state['data'] = {'x': state['data']['x'] + 1}`, as a Ferry job.
JOB = 'fn(lambda state: {**state, "data": {"x": state["data"]["x"] + 1}})'
TARGET = 2.0
REFERENCE_STEPS = 500  # the reference's N


# Runs the reference file unchanged (it times its own loop and prints the figure), then
# prints the CPU the loop took in that process and its children: its imports are done first,
# so they are not counted.
_REFERENCE_RUNNER = """
import resource, runpy, sys
import httpx, jsonschema
def cpu():
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
               resource.getrusage(resource.RUSAGE_CHILDREN)))
started = cpu()
runpy.run_path(sys.argv[1])
print("cpu seconds: %.6f" % (cpu() - started))
"""
_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Round:
    """One round's figures, per step: wall milliseconds and CPU milliseconds (all processes)."""

    wall_ms: float
    cpu_ms: float


def reference_round(script: Path) -> Round:
    """One run of the reference script (it runs 500 steps)."""
    done = subprocess.run(
        [sys.executable, "-c", _REFERENCE_RUNNER, str(script)],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    )
    wall = re.search(r"fork per step: ([0-9.]+) ms", done.stdout)
    cpu = re.search(r"cpu seconds: ([0-9.]+)", done.stdout)
    if wall is None or cpu is None:
        raise SystemExit(f"the reference printed no figure: {done.stdout!r} {done.stderr!r}")
    return Round(float(wall.group(1)), float(cpu.group(1)) * 1000 / REFERENCE_STEPS)


def _server_cpu_s(pid: int) -> float:
    """CPU seconds of the sandbox server and its reaped children (its step processes)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(value) for value in fields[11:15]) / _TICKS  # utime stime cutime cstime


def ferry_round(sandboxes: AdaptorSandboxes, steps: int) -> Round:
    """`steps` trivial Ferry steps, one after the other."""
    server = sandboxes.main.server_pid
    cpu_started = time.process_time() + _server_cpu_s(server)
    started = time.perf_counter()
    for i in range(steps):
        result = sandboxes.run(StepRequest(body=JOB, adaptor="common", state={"data": {"x": i}}))
        if result.status != "success" or result.state["data"] != {"x": i + 1}:
            raise SystemExit(f"the step did not do the job: {result.status} {result.error}")
    wall = (time.perf_counter() - started) / steps * 1000
    if sandboxes.main.server_pid != server:
        raise SystemExit("the sandbox server was replaced during the round")
    cpu = time.process_time() + _server_cpu_s(server) - cpu_started
    return Round(wall, cpu / steps * 1000)


def main() -> None:
    """Alternate the rounds and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=500, help="Ferry steps per round")
    parser.add_argument("--reference", type=Path, default=REFERENCE)
    args = parser.parse_args()
    print(f"machine: {machine()}, Python {sys.version.split()[0]}, load {os.getloadavg()[0]:.2f}")
    walls, cpus = [], []
    with AdaptorSandboxes() as sandboxes:
        ferry_round(sandboxes, 20)  # warm-up: the reference's first steps are warm already
        for number in range(1, args.rounds + 1):
            reference = reference_round(args.reference)
            ferry = ferry_round(sandboxes, args.steps)
            walls.append(ferry.wall_ms / reference.wall_ms)
            cpus.append(ferry.cpu_ms / reference.cpu_ms)
            print(f"round {number}: reference {reference.wall_ms:.2f} ms/step "
                  f"({reference.cpu_ms:.2f} ms CPU), Ferry {ferry.wall_ms:.2f} ms/step "
                  f"({ferry.cpu_ms:.2f} ms CPU), ratio {walls[-1]:.2f} (CPU {cpus[-1]:.2f})",
                  flush=True)  # fmt: skip
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    verdict = "met" if wall <= TARGET else "not met"
    print(f"median ratio Ferry / reference: {wall:.2f} (target <= {TARGET:g}: {verdict}); "
          f"CPU per step {cpu:.2f}; load {os.getloadavg()[0]:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
