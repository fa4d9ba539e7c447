"""Overhead of a trivial step through the sandbox; run by hand, never by the test suite.

    .venv/bin/python bench/runtime.py [--runs 500]

Prints the machine, the median and p99 wall time of `fn(lambda state: state)` as seen by
the caller of `run` (targets: median < 10 ms, p99 < 25 ms), and steps per second with one
and with two sandboxes driven by two threads. The sandboxes are a worker's
(`AdaptorSandboxes`: a common step forks from the server without the postgresql driver).
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from pathlib import Path

from workers.runtime.protocol import StepRequest
from workers.runtime.sandboxes import AdaptorSandboxes

TRIVIAL = StepRequest(body="fn(lambda state: state)", adaptor="common", state={"data": {"n": 1}})


def machine() -> str:
    """nproc and the CPU model, from /proc/cpuinfo."""
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} CPUs, {model}"


def timed_runs(sandbox: AdaptorSandboxes, runs: int, gap_s: float = 0.0) -> list[float]:
    """Milliseconds per trivial step, one after the other, `gap_s` apart."""
    times = []
    for _ in range(runs):
        time.sleep(gap_s)
        started = time.perf_counter()
        result = sandbox.run(TRIVIAL)
        times.append((time.perf_counter() - started) * 1000)
        if result.status != "success":
            raise SystemExit(f"trivial step did not succeed: {result.error}")
    return times


def throughput(sandboxes: list[AdaptorSandboxes], runs_each: int) -> float:
    """Steps per second with one thread per sandbox."""
    threads = [threading.Thread(target=timed_runs, args=(box, runs_each)) for box in sandboxes]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(sandboxes) * runs_each / (time.perf_counter() - started)


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    runs = parser.parse_args().runs
    print(f"machine: {machine()}")
    with AdaptorSandboxes() as one, AdaptorSandboxes() as two:
        if one.main.preload_failures:
            print(f"note: not preloaded: {', '.join(sorted(one.main.preload_failures))}")
        timed_runs(one, 20)  # warm up
        # Back to back, the next child is still being forked when the next step arrives;
        # a worker writes to the database between steps, which the 5 ms gap stands for.
        for label, gap_s in (("back to back", 0.0), ("5 ms apart", 0.005)):
            times = sorted(timed_runs(one, runs, gap_s))
            p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
            print(f"trivial step, {runs} runs {label}: median {statistics.median(times):.2f} ms, "
                  f"p99 {p99:.2f} ms, min {times[0]:.2f} ms, max {times[-1]:.2f} ms")  # fmt: skip
        print(f"one sandbox:   {throughput([one], runs):.0f} steps/s")
        print(f"two sandboxes: {throughput([one, two], runs):.0f} steps/s (two threads)")


if __name__ == "__main__":
    main()
