"""Saving a workflow as a template: no credential, no secret and no webhook key in the row;
one name per instance; deleting is for the saver or a superuser."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.models import WebhookAuth, WorkflowTemplate
from app.services.credentials import sharing
from app.services.errors import Forbidden, Invalid, NotFound
from app.services.studio import run_panel
from app.services.triggers import webhook_auth
from app.services.workflow_templates import catalog, saving, use
from app.services.workflows import store
from tests import factories, history_factories
from tests.services.credentials.test_store import SECRET, make_credential

SOURCE = """
name: Send with a secret
triggers:
  hook:
    type: webhook
    custom_path: clinic-intake-hook
jobs:
  send:
    name: Send
    adaptor: http@1
    credential: Registry key
    body: 'post("https://example.org/x", headers={"x-token": "%s"}, body=S.data)'
edges:
  hook->send:
    source_trigger: hook
    target_job: send
"""


@pytest.fixture
def secret_flow(db, user, project):
    credential = make_credential(user, name="Registry key")
    sharing.share(user, credential.id, project.id)
    workflow = store.create_workflow(project.id, SOURCE % SECRET, user.id)
    key = webhook_auth.configure_webhook_auth(workflow.triggers[0].id, WebhookAuth.API_KEY)
    return workflow, key


def test_a_saved_template_keeps_no_credential_secret_or_webhook_key(db, user, project, secret_flow):
    workflow, api_key = secret_flow
    clip = run_panel.save_input(
        project.id, "Echoed", custom_text=json.dumps({"data": {"p": SECRET, "k": api_key}})
    )
    row = saving.save_as_template(
        project.id,
        workflow.id,
        user.id,
        name="Secret sender",
        description=f"Uses {SECRET}",
        sample=str(clip.id),
    )
    stored = db.session.scalars(select(WorkflowTemplate).where(WorkflowTemplate.id == row.id))
    text = " ".join(str(value) for value in vars(stored.one()).values())
    assert SECRET not in text and api_key not in text
    assert "Registry key" not in row.document and "clinic-intake-hook" not in row.document
    assert json.loads(row.sample_input) == {"data": {"p": "***", "k": "***"}}
    # Another project can use it straight away: nothing refers to this project's rows.
    other = factories.project(user, "Elsewhere")
    created = use.create_from_template(other.id, str(row.id), "Copy", user.id)
    assert created.workflow.steps[0].credential_id is None
    assert created.sample_input_id is not None


def test_saved_templates_show_after_ferrys_own_with_who_saved_them(db, user, project, flow):
    saving.save_as_template(project.id, flow.id, user.id, name="Patient sync template")
    templates = catalog.all_templates()
    assert [t.builtin for t in templates][-1] is False
    assert templates[-1].title == "Patient sync template"
    assert templates[-1].saved_by == user.display_name


@pytest.mark.parametrize("name", ["Patient sync template", "patient SYNC template  ",
                                  "CSV export → PostgreSQL"])  # fmt: skip
def test_a_taken_name_is_a_form_error(db, user, project, flow, name):
    saving.save_as_template(project.id, flow.id, user.id, name="Patient sync template")
    with pytest.raises(Invalid) as caught:
        saving.save_as_template(project.id, flow.id, user.id, name=name)
    assert caught.value.field == "name"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"name": "ok", "description": "d" * 2001}, "description"),
        ({"name": "ok", "sample": "last"}, "sample"),  # it never ran
        ({"name": "ok", "sample": "not-an-id"}, "sample"),
        ({"name": "ok", "sample": "00000000-0000-0000-0000-000000000000"}, "sample"),
    ],
)
def test_bad_fields_are_refused_with_their_name(db, user, project, fields, field):
    workflow = factories.workflow(project)
    with pytest.raises(Invalid) as caught:
        saving.save_as_template(project.id, workflow.id, user.id, **fields)
    assert caught.value.field == field
    assert db.session.scalars(select(WorkflowTemplate)).all() == []


def test_a_saved_input_of_another_project_cannot_be_the_sample(db, user, project, flow):
    other = factories.project(user, "Elsewhere")
    clip = run_panel.save_input(other.id, "Theirs", custom_text='{"data": {}}')
    with pytest.raises(Invalid):
        saving.save_as_template(project.id, flow.id, user.id, name="T", sample=str(clip.id))


def test_the_last_input_is_offered_once_the_workflow_ran(db, user, project, flow):
    assert [c.value for c in saving.sample_choices(flow.id, project.id)] == ["none"]
    history_factories.work_order(flow, body={"patients": [{"id": 1}]})
    assert "last" in [c.value for c in saving.sample_choices(flow.id, project.id)]
    row = saving.save_as_template(project.id, flow.id, user.id, name="T", sample="last")
    # The webhook request's headers and query stay behind.
    assert json.loads(row.sample_input) == {"data": {"patients": [{"id": 1}]}}


def test_only_the_saver_or_a_superuser_deletes(db, user, project, flow):
    row = saving.save_as_template(project.id, flow.id, user.id, name="Mine")
    stranger = factories.user()
    with pytest.raises(Forbidden):
        saving.delete_template(row.id, stranger)
    assert saving.delete_template(row.id, factories.user(superuser=True)) == "Mine"
    with pytest.raises(NotFound):
        saving.delete_template(row.id, user)
