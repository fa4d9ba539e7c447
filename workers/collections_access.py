"""What a step needs to reach its project's collections from the sandbox: Ferry's API URL
for the project and a step token for the run (app/services/collections/step_tokens.py).
The sandbox's egress guard lets the `collections` operations, and only them, reach that
URL's host and port (workers/runtime/ferry_api.py), as it is often an internal address.
"""

from __future__ import annotations

from flask import current_app

from app.services.collections import step_tokens
from app.services.runs.claims import ClaimedRun


def for_run(run: ClaimedRun) -> dict:
    """`StepRequest.ferry_api` for the run's steps: {"url", "token"}."""
    settings = current_app.config["FERRY_SETTINGS"]
    base = (settings.api_url or settings.base_url).rstrip("/")
    token = step_tokens.issue(run.id, run.project_id)
    return {"url": f"{base}/api/v1/projects/{run.project_id}", "token": token}
