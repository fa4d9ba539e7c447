"""Build rows through the services, the way the app itself creates them."""

from __future__ import annotations

import itertools

from app.models import Project, Role, User
from app.services import accounts, projects

PASSWORD = "correct horse battery staple"
_numbers = itertools.count(1)


def user(*, superuser: bool = False, email: str | None = None) -> User:
    """A user with PASSWORD."""
    email = email or f"person{next(_numbers)}@example.org"
    return accounts.create_user(email, PASSWORD, name="Test Person", superuser=superuser)


def project(owner: User, name: str | None = None) -> Project:
    """A project owned by `owner`."""
    return projects.create_project(owner, name or f"Project {next(_numbers)}")


def member(project_: Project, user_: User, role: Role) -> None:
    """Add `user_` to `project_` with `role`."""
    from app.extensions import db
    from app.models import ProjectMember

    db.session.add(ProjectMember(project_id=project_.id, user_id=user_.id, role=role))
    db.session.commit()


SIMPLE_WORKFLOW = """
name: {name}
triggers:
  webhook:
    type: webhook
    enabled: true
jobs:
  first:
    name: First step
    adaptor: common@1
    body: |
      fn(lambda state: {{**state, "data": {{"seen": state["data"]}}}})
edges:
  webhook->first:
    source_trigger: webhook
    target_job: first
    condition_type: always
"""


def workflow(project_: Project, source: str | None = None, name: str | None = None):
    """A saved workflow (one webhook trigger and one step unless `source` says otherwise)."""
    from app.services.workflows import store

    source = source or SIMPLE_WORKFLOW.format(name=name or f"Workflow {next(_numbers)}")
    return store.create_workflow(project_.id, source)


def shared_dhis2_credential(owner: User, project_: Project, password: str):
    """A DHIS2 credential of `owner` (user "admin", this password), shared into the project."""
    from app.services.credentials import sharing, store

    credential = store.create_credential(
        owner,
        "DHIS2 live",
        "dhis2",
        {
            "body.base_url": ["https://dhis2.example.org"],
            "body.username": ["admin"],
            "body.password": [password],
        },
        True,
    )
    sharing.share(owner, credential.id, project_.id)
    return credential
