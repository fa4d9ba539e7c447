"""The worker's heartbeat thread: it beats for the runs executing, and only while they do."""

from __future__ import annotations

import threading
import time
import uuid

from workers import heartbeat as heartbeat_module
from workers.heartbeat import Heartbeat


def test_one_thread_beats_for_each_run_while_it_executes(app, monkeypatch):
    beats: list[set] = []
    beaten = threading.Event()

    def record(run_ids):
        beats.append(set(run_ids))
        beaten.set()

    monkeypatch.setattr(heartbeat_module.lifecycle, "heartbeat", record)
    heart = Heartbeat(app, interval_s=0.02)
    first, second = uuid.uuid4(), uuid.uuid4()
    try:
        with heart.beating(first):
            assert beaten.wait(2)
            thread = heart._thread
        with heart.beating(second):
            beaten.clear()
            assert beaten.wait(2)
        assert heart._thread is thread, "one thread serves every run"
        time.sleep(0.05)  # a beat that read the runs just before the block ended
        beats_after = len(beats)
        time.sleep(0.1)
        assert len(beats) == beats_after, "an idle worker does not beat"
    finally:
        heart.close()
    assert {first} in beats and beats[-1] == {second}


def test_a_failed_beat_does_not_stop_the_next(app, monkeypatch):
    calls: list[int] = []
    twice = threading.Event()

    def flaky(run_ids):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database away")
        twice.set()

    monkeypatch.setattr(heartbeat_module.lifecycle, "heartbeat", flaky)
    heart = Heartbeat(app, interval_s=0.02)
    try:
        with heart.beating(uuid.uuid4()):
            assert twice.wait(2)
    finally:
        heart.close()
