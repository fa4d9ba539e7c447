"""Matrix entries for issue 16's version history: members browse the History panel, open a
version read-only and compare versions; editors restore one (a new version, never a rewrite)."""

from __future__ import annotations

from app.services.workflows import export, store
from tests.authz.rules import Rule


def _a_second_version(world):
    """Version 1 of the world's workflow, once a version 2 exists (so 1 can be restored)."""
    workflow = store.get_workflow(world.workflow.id)
    if workflow.lock_version == 1:
        store.replace_workflow(workflow.id, export.export_document(workflow))
    return 1


ROUTES = {
    "workflows.versions_list": Rule("viewer"),
    "workflows.version": Rule("viewer"),
    "workflows.compare_versions": Rule("viewer"),
    "workflows.restore_version": Rule(
        "editor",
        params={"version": _a_second_version},
        data={"lock_version": "2"},
    ),
}
PARAMS = {"version": lambda world: 1}
