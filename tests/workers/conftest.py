"""Fixtures shared by the worker tests: a warm sandbox per module and an executor over it."""

from __future__ import annotations

import pytest

from workers.executor import RunExecutor
from workers.runtime.sandbox import Sandbox


@pytest.fixture(scope="module")
def sandbox():
    """One warm sandbox for a module's runs (starting one takes about a second)."""
    with Sandbox() as box:
        yield box


@pytest.fixture
def executor(db, sandbox):
    """An executor as a worker process has one, with the test instance's settings."""
    running = RunExecutor(sandbox, "test-worker:1")
    yield running
    running.heartbeat.close()
