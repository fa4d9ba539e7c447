"""A real Ferry (`ferry run`: web, worker, scheduler) on loopback, and Debian's Chromium.

The server uses its own PostgreSQL database with committed data, like a real deployment;
the demo user it creates on first start is the one the journeys sign in as.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller
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


class Inbox:
    """A real SMTP server (aiosmtpd) on loopback that keeps what the live server sends."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 Message accepted for delivery"

    def wait_for(self, to: str, timeout: float = 20, subject: str | None = None) -> EmailMessage:
        """The newest message to `to` (with this `subject`, when given: other journeys mail
        the same people), waiting for the worker to deliver it."""
        deadline = time.monotonic() + timeout
        while True:
            found = [
                m
                for m in self.messages
                if to in m["To"] and (subject is None or m["Subject"] == subject)
            ]
            if found:
                return found[-1]
            assert time.monotonic() < deadline, f"no mail reached {to} within {timeout} s"
            time.sleep(0.1)


@pytest.fixture(scope="session")
def smtp_inbox() -> Inbox:
    """The mail server the live server sends to (MAIL_URL); its `messages` are what arrived."""
    inbox = Inbox(free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


@contextmanager
def running_ferry(database: str, redis: str, inbox: Inbox):
    """`ferry run` (web, worker and scheduler) on a fresh database named after `database` and
    on the Redis database `redis`; yields its base URL and stops it afterwards."""
    url = database_url(database)
    recreate_database(url)
    port = free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = open(ARTIFACTS / f"ferry-{database}-{os.getpid()}.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "workers", "run", "--port", str(port)],
        # BASE_URL: links Ferry hands out (SSO redirect addresses, emails) must reach it.
        env={
            **os.environ,
            "DATABASE_URL": url,
            "REDIS_URL": redis,
            "MAIL_URL": f"smtp://127.0.0.1:{inbox.port}?from=ferry@example.org",
            "BASE_URL": f"http://127.0.0.1:{port}",
            # Every journey signs in from 127.0.0.1, and the live servers of pytest sessions
            # run side by side share one Redis database (browser_redis_url): their failed
            # sign-ins must not add up to a lockout. The limits are tested in tests/web.
            "FERRY_LOGIN_ATTEMPTS_PER_ACCOUNT": "1000",
            "FERRY_LOGIN_ATTEMPTS_PER_ADDRESS": "1000",
            # Git sync journeys push to bare repositories in the test's temporary folder.
            "FERRY_GIT_ALLOW_LOCAL": "true",
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
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
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()
    Path(log.name).unlink(missing_ok=True)


@pytest.fixture(scope="session")
def live_server(smtp_inbox: Inbox) -> str:
    """The base URL of a running Ferry shared by the journeys; stopped at the end of the
    session."""
    with running_ferry("browser", browser_redis_url(), smtp_inbox) as base:
        yield base


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
