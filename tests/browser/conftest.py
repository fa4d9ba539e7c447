"""A real Ferry (`ferry run`: web, worker, scheduler) on loopback, and Debian's Chromium.

The server uses its own PostgreSQL database with committed data, like a real deployment;
the demo user it creates on first start is the one the journeys sign in as.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.support import browser_redis_url, database_url, free_port, recreate_database

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def live_server() -> str:
    """The base URL of a running Ferry; stopped at the end of the session."""
    url = database_url("browser")
    recreate_database(url)
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / f"ferry-browser-{os.getpid()}.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "workers", "run", "--port", str(port)],
        env={**os.environ, "DATABASE_URL": url, "REDIS_URL": browser_redis_url()},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert process.poll() is None, f"ferry run exited early; see {log.name}"
        assert time.monotonic() < deadline, "ferry run did not answer within 60 s"
        time.sleep(0.2)
    yield base
    process.terminate()
    process.wait(timeout=20)
    log.close()
    Path(log.name).unlink(missing_ok=True)


@pytest.fixture(scope="session")
def browser() -> Browser:
    """Debian's Chromium driven by Playwright (Playwright's own browser download is not
    possible here)."""
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Browser, live_server: str) -> Page:
    """A fresh browser tab (own cookies) opened on the live server."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 800})
    tab = context.new_page()
    # Pages must never reach beyond the Ferry server: fail on any other request.
    outside: list[str] = []
    tab.on("request", lambda r: None if r.url.startswith(live_server) else outside.append(r.url))
    yield tab
    context.close()
    assert outside == [], f"the page requested outside addresses: {outside}"


def screenshot(page: Page, name: str) -> None:
    """Save a screenshot under test-artifacts/ for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
