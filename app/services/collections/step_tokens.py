"""Step tokens: how a running job reaches its project's collections without a database.

Job code runs in a sandbox with an empty environment (workers/runtime/sandbox.py), so it
cannot hold a database URL. The executor instead hands each step a token signed with
SECRET_KEY that names the run and its project; the collections API accepts it for that
project's collections only, and only while the run is claimed or started and the token
young enough (the longest run time limit a project may set, plus a margin). The token is
scrubbed from the step's logs and output like a credential value.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.extensions import db
from app.models import Run, RunState

PREFIX = "fst_"
_SALT = "ferry.collections.step-token"
# Beyond the run's own time limit: a run finishing late still reaches its collections.
MARGIN_S = 300
_LIVE = (RunState.CLAIMED, RunState.STARTED)


@dataclass(frozen=True)
class StepAccess:
    """What a valid step token allows: the collections of one project, for one run."""

    project_id: uuid.UUID
    run_id: uuid.UUID


def issue(run_id: uuid.UUID, project_id: uuid.UUID) -> str:
    """A token for the steps of this run."""
    payload = {"r": str(run_id), "p": str(project_id)}
    return PREFIX + _serializer().dumps(payload)


def is_step_token(token: str) -> bool:
    """True when `token` looks like a step token (rather than a personal API token)."""
    return token.startswith(PREFIX)


def verify(token: str) -> StepAccess | None:
    """What the token allows, or None when it is forged, too old, or its run has ended."""
    if not is_step_token(token):
        return None
    settings = current_app.config["FERRY_SETTINGS"]
    # Issued as each step starts: it must outlive the longest run any project may set.
    longest = max(settings.run_timeout_s, settings.max_run_timeout_s)
    try:
        payload = _serializer().loads(token.removeprefix(PREFIX), max_age=longest + MARGIN_S)
        access = StepAccess(uuid.UUID(payload["p"]), uuid.UUID(payload["r"]))
    except (BadSignature, SignatureExpired, KeyError, TypeError, ValueError):
        return None
    run = db.session.get(Run, access.run_id)
    if run is None or run.project_id != access.project_id or run.state not in _LIVE:
        return None
    return access


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)
