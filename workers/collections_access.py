"""What a step needs to reach its project's collections from the sandbox: Ferry's API URL
for the project, a step token for the run (app/services/collections/step_tokens.py), and
the one egress allowlist entry (the API's host and port) that lets the sandbox connect
when the API sits on an internal address, as it does when worker and web share a machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app

from app.services.collections import step_tokens
from app.services.runs.claims import ClaimedRun

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class StepApi:
    """`StepRequest.ferry_api` and the egress entries to add to the step's allowlist."""

    request: dict
    egress: tuple[str, ...]


def for_run(run: ClaimedRun) -> StepApi:
    """The API access of the run's steps."""
    settings = current_app.config["FERRY_SETTINGS"]
    base = (settings.api_url or settings.base_url).rstrip("/")
    token = step_tokens.issue(run.id, run.project_id)
    return StepApi(
        {"url": f"{base}/api/v1/projects/{run.project_id}", "token": token}, _egress(base)
    )


def _egress(base: str) -> tuple[str, ...]:
    parts = urlsplit(base)
    if not parts.hostname:
        return ()
    port = parts.port or _DEFAULT_PORTS.get(parts.scheme, 80)
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return (f"{host}:{port}",)
