"""Projects and memberships."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from app.extensions import db
from app.models import Project, ProjectMember, Role, User
from app.services.errors import Invalid, NotFound

MAX_NAME_LENGTH = 200


def projects_for_user(user: User) -> list[tuple[Project, Role | None]]:
    """The projects a user can open with their role, by name; superusers see all of them."""
    if user.is_superuser:
        rows = db.session.execute(
            select(Project, ProjectMember.role)
            .outerjoin(
                ProjectMember,
                (ProjectMember.project_id == Project.id) & (ProjectMember.user_id == user.id),
            )
            .where(Project.deletion_requested_at.is_(None))
            .order_by(Project.name)
        )
    else:
        rows = db.session.execute(
            select(Project, ProjectMember.role)
            .join(ProjectMember, ProjectMember.project_id == Project.id)
            .where(ProjectMember.user_id == user.id, Project.deletion_requested_at.is_(None))
            .order_by(Project.name)
        )
    return [(project, role) for project, role in rows]


def create_project(owner: User, name: str, description: str = "") -> Project:
    """Create a project with `owner` as its owner."""
    name = " ".join(name.split())
    if not name:
        raise Invalid("name", "Give the project a name.")
    for field, value in (("name", name), ("description", description)):
        if "\x00" in value:
            # PostgreSQL cannot store it; the web refuses it earlier, the CLI arrives here.
            raise Invalid(field, f"The {field} contains a NUL character (\\u0000); remove it.")
    if len(name) > MAX_NAME_LENGTH:
        raise Invalid("name", f"The name is too long: at most {MAX_NAME_LENGTH} characters.")
    project = Project(name=name, description=description.strip())
    db.session.add(project)
    db.session.flush()
    db.session.add(ProjectMember(project_id=project.id, user_id=owner.id, role=Role.OWNER))
    db.session.commit()
    return project


def role_in_project(user: User, project_id: uuid.UUID) -> Role | None:
    """The user's role in the project, or None when they are not a member."""
    return db.session.scalar(
        select(ProjectMember.role).where(
            ProjectMember.project_id == project_id, ProjectMember.user_id == user.id
        )
    )


def get_project(project_id: uuid.UUID) -> Project:
    """The project with this id, or NotFound (also once its deletion was requested: it is
    gone for everyone while a background job removes its data)."""
    project = db.session.get(Project, project_id)
    if project is None or project.deletion_requested_at is not None:
        raise NotFound("There is no such project.")
    return project
