"""Forking the sandbox server without CPython's at-fork handlers: the child still gets a
random seed of its own, and a process with threads gets os.fork's full treatment."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
from pathlib import Path

from workers.runtime import forking

CODE_ROOT = Path(__file__).resolve().parents[3]

# Run in a fresh interpreter: like the sandbox server, it has a single thread (the test
# process has xdist's threads, where `fork` takes the os.fork path).
SINGLE_THREADED = """
import json, os, random, threading
from workers.runtime import forking

random.seed(1234)
read_fd, write_fd = os.pipe()
pid = forking.fork()
if pid == 0:
    os.write(write_fd, json.dumps([random.random(), threading.get_ident()]).encode())
    os._exit(7)
os.close(write_fd)
child = json.loads(os.read(read_fd, 1000))
_, status = os.waitpid(pid, 0)
print(json.dumps({
    "child_random": child[0], "parent_random": random.random(),
    "child_thread": child[1], "parent_thread": threading.get_ident(),
    "exit": os.WEXITSTATUS(status), "pid": pid,
}))
"""


def test_a_child_forked_from_one_thread_runs_with_a_random_seed_of_its_own():
    done = subprocess.run(
        [sys.executable, "-c", SINGLE_THREADED],
        capture_output=True,
        text=True,
        check=True,
        cwd=CODE_ROOT,
        timeout=60,
    )
    seen = json.loads(done.stdout)
    assert seen["exit"] == 7 and seen["pid"] > 0
    # Without a new seed the child would draw the very number the parent draws next.
    assert seen["child_random"] != seen["parent_random"]
    assert seen["child_thread"] == seen["parent_thread"]  # the same thread, as with os.fork


def test_with_another_thread_alive_it_forks_the_way_os_fork_does(monkeypatch):
    calls = []
    real_fork = os.fork

    def counting_fork():
        calls.append(1)
        return real_fork()

    monkeypatch.setattr(forking.os, "fork", counting_fork)
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        before = random.random()
        read_fd, write_fd = os.pipe()
        pid = forking.fork()
        if pid == 0:
            os.write(write_fd, repr(random.random()).encode())
            os._exit(0)
        os.close(write_fd)
        child_random = float(os.read(read_fd, 100))
        os.close(read_fd)
        os.waitpid(pid, 0)
    finally:
        release.set()
        other.join()
    assert calls == [1]
    assert child_random != before
