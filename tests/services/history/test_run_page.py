"""The run page's data: what it shows is masked with the right credentials."""

from __future__ import annotations

from sqlalchemy import select

from app.models import Run
from app.services.credentials import sharing, store
from app.services.history import run_page as history_runs
from app.services.workflows import store as workflows
from tests import factories
from tests import history_factories as hf

SECRET = "k3y-only-this-step-knew"

USES_A_CREDENTIAL = """
name: Uses a credential
triggers:
  webhook:
    type: webhook
jobs:
  fetch:
    name: Fetch cases
    adaptor: http@1
    credential: Partner API
    body: 'get("/cases")'
  load:
    name: Load cases
    adaptor: http@1
    body: 'get("/cases")'
edges:
  webhook->fetch:
    source_trigger: webhook
    target_job: fetch
  fetch->load:
    source_job: fetch
    target_job: load
    condition_type: on_job_success
"""


def test_a_credential_the_run_used_stays_masked_after_it_is_unshared(db, user):
    project = factories.project(user)
    credential = store.create_credential(
        user,
        "Partner API",
        "http",
        {"body.base_url": ["https://partner.example.org"], "body.api_key": [SECRET]},
        False,
    )
    sharing.share(user, credential.id, project.id)
    flow = workflows.get_workflow(workflows.create_workflow(project.id, USES_A_CREDENTIAL).id)
    order = hf.work_order(flow, state="failed", logs=[("info", f"key={SECRET}")])
    run = db.session.scalar(select(Run).where(Run.work_order_id == order.id))
    # The step no longer may use it, but the run did: its value is still a secret.
    sharing.unshare(user, credential.id, project.id)
    page = history_runs.run_page(project.id, run.id, all_logs=True)
    assert [line.message for line in page.logs.lines] == ["key=***"]
    # Another project's run, with no credential of its own, shows its text as stored.
    other = factories.project(user)
    other_order = hf.work_order(hf.workflow(other), logs=[("info", f"key={SECRET}")])
    other_run = db.session.scalar(select(Run).where(Run.work_order_id == other_order.id))
    shown = history_runs.run_logs(other.id, other_run.id)
    assert [line.message for line in shown.lines] == [f"key={SECRET}"]
