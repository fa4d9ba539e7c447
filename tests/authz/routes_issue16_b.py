"""Matrix entries for issue 16's edit safety: the builder's presence heartbeat and leave
(every member who may open the builder, viewers shown as viewing) and the refused-save
panel (editors, who are the ones that save)."""

from __future__ import annotations

from tests.authz.rules import Rule

ROUTES = {
    "workflows.presence_beat": Rule("viewer", data={"tab": "matrix"}),
    "workflows.presence_leave": Rule("viewer", data={"tab": "matrix"}),
    "workflows.save_conflict": Rule("editor", query={"since": "1"}),
}
