"""Matrix entries for issue 16's sandboxes: creating one (the project's admins), comparing a
sandbox with its parent (viewers), reviewing and applying a merge (admins). The compare and
merge routes take a sandbox of world.project in which each member holds the role they hold
in world.project (the service also checks the role in the parent)."""

from __future__ import annotations

from app.extensions import db
from app.models import ProjectMember, Role, User
from app.services.sandboxes import cloning
from tests.authz.rules import Rule


def _sandbox(world):
    """A sandbox of world.project cloned by its owner, with the same members as the parent."""
    owner = db.session.get(User, world.owner.id)
    sandbox = cloning.create_sandbox(owner, world.project.id, "Authz sandbox").sandbox
    for user, role in (
        (world.viewer, Role.VIEWER),
        (world.editor, Role.EDITOR),
        (world.admin, Role.ADMIN),
    ):
        db.session.add(ProjectMember(project_id=sandbox.id, user_id=user.id, role=role))
    db.session.commit()
    return sandbox.id


SANDBOX = {"project_id": _sandbox}

ROUTES = {
    "sandboxes.new": Rule("admin"),
    "sandboxes.create": Rule("admin", data={"name": "Matrix sandbox"}),
    "sandboxes.compare": Rule("viewer", params=SANDBOX),
    "sandboxes.review": Rule("admin", params=SANDBOX),
    # A stale fingerprint: allowed callers get the review page again (409), nothing merges.
    "sandboxes.merge": Rule("admin", params=SANDBOX, data={"fingerprint": "stale"}),
}
