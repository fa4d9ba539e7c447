"""Matrix entries for issue 18's large payloads: a run's dataclip downloads whole for anyone
who may view the run (the project's viewers and up); others get 404."""

from __future__ import annotations

from tests.authz.rules import Rule

ROUTES = {
    "history.download_dataclip": Rule("viewer"),
}
