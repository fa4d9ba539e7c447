"""A production project with what a sandbox must handle (an enabled schedule, a webhook with
its own path, a credential of the cloner and one of somebody else), for the sandbox tests."""

from __future__ import annotations

from dataclasses import dataclass

from app.extensions import db
from app.models import Project, Role, User
from app.services import project_settings
from app.services.credentials import sharing
from app.services.credentials import store as credential_store
from app.services.workflows import store
from tests import factories

SYNC = """
name: Patient sync
triggers:
  nightly:
    type: cron
    cron_expression: "0 2 * * *"
    enabled: true
  webhook:
    type: webhook
    enabled: true
    custom_path: clinic-{suffix}
jobs:
  fetch:
    name: Fetch patients
    adaptor: http@1
    credential: API key
    body: |
      get("https://example.org/api/patients")
  load:
    name: Load into DHIS2
    adaptor: dhis2@1
    credential: DHIS2 live
    body: |
      each(S.data, create("trackedEntities", {{"name": S.data.name}}))
edges:
  nightly->fetch:
    source_trigger: nightly
    target_job: fetch
  webhook->fetch:
    source_trigger: webhook
    target_job: fetch
  fetch->load:
    source_job: fetch
    target_job: load
    condition_type: on_job_success
"""

INTAKE = """
name: Case intake
triggers:
  webhook:
    type: webhook
jobs:
  receive:
    name: Receive case
    adaptor: http@1
    body: |
      post("https://example.org/cases", S.data)
edges:
  webhook->receive:
    source_trigger: webhook
    target_job: receive
"""


@dataclass
class Clinic:
    """The production project, its owner, and an admin who clones it."""

    project: Project
    owner: User
    admin: User


def clinic(name: str = "Clinic sync", suffix: str = "a") -> Clinic:
    """The project: owner's DHIS2 credential and admin's API key, both shared into it."""
    owner = factories.user()
    admin = factories.user()
    project = factories.project(owner, name)
    factories.member(project, admin, Role.ADMIN)
    factories.shared_dhis2_credential(owner, project, "district")
    key = credential_store.create_credential(
        admin, "API key", "raw", {"body.body": ['{"token": "admin-secret"}']}, False
    )
    sharing.share(admin, key.id, project.id)
    store.create_workflow(project.id, SYNC.format(suffix=suffix), owner.id)
    store.create_workflow(project.id, INTAKE, owner.id)
    project_settings.replace_allowlist(owner, project.id, ["10.0.0.5:8080"])
    project.alert_limit_count = 7
    db.session.commit()
    return Clinic(project, owner, admin)
