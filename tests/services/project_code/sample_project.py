"""A project with something in every part of its document, for the projects-as-code tests:
two workflows (cron and webhook triggers, a shared credential, an expression condition, a
concurrency cap), settings away from their defaults, and a credential shared into it."""

from __future__ import annotations

from app.extensions import db
from app.models import Project, User
from app.services import project_settings
from tests import factories

PATIENT_SYNC = """
name: Patient sync
concurrency: 2
triggers:
  nightly:
    type: cron
    cron_expression: "0 2 * * *"
    enabled: false
  webhook:
    type: webhook
    webhook_reply: after_completion
jobs:
  fetch:
    name: Fetch patients
    adaptor: http@1
    body: |
      get("https://example.org/api/patients")
  load:
    name: Load into DHIS2
    adaptor: dhis2@1
    credential: DHIS2 live
    body: |
      each(S.data, create("trackedEntities", {"name": S.data.name}))
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
    condition_type: expression
    condition_expression: "len(state['data']) > 0"
    condition_label: Has patients
"""

CASE_INTAKE = """
name: Case intake
triggers:
  webhook:
    type: webhook
jobs:
  receive:
    name: Receive case
    adaptor: common@1
    body: |
      fn(lambda state: state)
  report:
    name: Report failure
    adaptor: common@1
    body: |
      log("intake failed")
edges:
  webhook->receive:
    source_trigger: webhook
    target_job: receive
  receive->report:
    source_job: receive
    target_job: report
    condition_type: on_job_failure
"""


def sample_project(owner: User, name: str = "Clinic sync") -> Project:
    """The project described above, owned by `owner`, with the DHIS2 credential shared."""
    project = factories.project(owner, name)
    factories.shared_dhis2_credential(owner, project, "district")
    factories.workflow(project, PATIENT_SYNC)
    factories.workflow(project, CASE_INTAKE)
    project_settings.update_details(owner, project.id, name, "Registrations from the clinics")
    project_settings.replace_allowlist(owner, project.id, ["10.0.0.5:8080", "dhis2.lan"])
    project.concurrency = 5
    project.alert_limit_count = 7
    project.alert_include_logs = True
    db.session.commit()
    return project
