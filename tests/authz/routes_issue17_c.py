"""Matrix entries for issue 17's cron cursors: every member may see which stored state the
next scheduled run of a workflow would start from (as they may see runs and dataclips)."""

from __future__ import annotations

from tests.authz.rules import Rule

ROUTES = {
    "workflows.cron_next_input": Rule("viewer", query={"cron_input": "last_success"}),
}
