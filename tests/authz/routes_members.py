"""Matrix entries for the members pages and the invitation link (app/web/members)."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.models import MailMessage, Project, ProjectMember, Role, User
from app.services import invitations
from tests.authz.rules import Rule

INVITEE = "matrix-invitee@example.org"


def _viewer_membership_id(world):
    return db.session.scalar(
        select(ProjectMember.id).where(
            ProjectMember.project_id == world.project.id, ProjectMember.user_id == world.viewer.id
        )
    )


def _invite(world):
    """A fresh pending invitation to world.project (each case runs in its own savepoint)."""
    owner = db.session.get(User, world.owner.id)
    project = db.session.get(Project, world.project.id)
    return invitations.invite(INVITEE, owner, project, Role.VIEWER)


def _invitation_token(world) -> str:
    _invite(world)
    text = db.session.scalars(
        select(MailMessage.text)
        .where(MailMessage.to_address == INVITEE)
        .order_by(MailMessage.inserted_at.desc())
    ).first()
    return re.search(r"/invitations/(\S+)", text).group(1)


INVITATION_LINK = {"token": _invitation_token}
NEW_ACCOUNT = {"name": "Matrix Invitee", "password": "lantern cobalt river 42"}
NEW_ACCOUNT["confirm"] = NEW_ACCOUNT["password"]
# Leaving is for members: the owner must hand the project over first (403), and a superuser
# who is not a member has nothing to leave (404).
LEAVING = {"owner": 403, "superuser": 404}

ROUTES = {
    "members.index": Rule("viewer"),
    "members.add": Rule("admin", data={"email": "matrix-added@example.org", "role": "viewer"}),
    "members.change_role": Rule("admin", data={"role": "editor"}),
    "members.confirm_remove": Rule("admin"),
    "members.remove": Rule("admin"),
    "members.confirm_leave": Rule("viewer", expect=LEAVING, note="members who are not owner"),
    "members.leave": Rule("viewer", expect=LEAVING, note="members who are not owner"),
    "members.confirm_transfer": Rule("owner"),
    "members.transfer": Rule("owner"),
    "members.cancel_invitation": Rule("admin"),
    "members.invitation": Rule("public", params=INVITATION_LINK),
    "members.accept_invitation": Rule("public", params=INVITATION_LINK, data=NEW_ACCOUNT),
}

PARAMS = {
    "member_id": _viewer_membership_id,
    "invitation_id": lambda world: _invite(world).id,
}
