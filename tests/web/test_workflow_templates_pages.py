"""The template pages: the cards on "Create workflow", using a template, saving a workflow as
a template, deleting a saved one; bad input answers 4xx with the field named, never 500."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import Dataclip, DataclipType, Role, Workflow, WorkflowTemplate
from app.services.workflow_templates import saving
from tests import factories
from tests.support import log_in, post_form

TITLES = [
    "Webhook → HTTP API, field by field",
    "Webhook → DHIS2 tracked entities",
    "CommCare cases → FHIR Patients",
    "CSV export → PostgreSQL",
]


def urls(project, key="webhook-to-http-api"):
    base = f"/projects/{project.id}/workflows"
    return base, f"{base}/templates/{key}"


def test_create_workflow_offers_ferrys_templates_and_saved_ones(signed_in, user, project, flow):
    saving.save_as_template(project.id, flow.id, user.id, name="Clinic sync", description="Ours")
    html = signed_in.get(f"/projects/{project.id}/workflows/new").get_data(as_text=True)
    for title in [*TITLES, "Clinic sync"]:
        assert f"Use template {title}" in html.replace("&amp;", "&")
    assert f"Saved by {user.display_name}" in html
    assert "Save one of this project" in html  # the owner may save its workflows


def test_using_a_template_creates_the_workflow_and_its_sample_input(signed_in, db, project):
    base, page = urls(project)
    form = signed_in.get(page).get_data(as_text=True)
    assert 'value="Records to an HTTP API"' in form and "egress allowlist" in form
    response = post_form(
        signed_in, page, page, {"name": "People", "api_url": "https://api.example.org/people"}
    )
    assert response.status_code == 302
    workflow = db.session.scalars(select(Workflow).where(Workflow.name == "People")).one()
    clip = db.session.scalars(
        select(Dataclip).where(Dataclip.type == DataclipType.SAVED_INPUT)
    ).one()
    assert response.location == f"{base}/{workflow.id}?input={clip.id}"
    builder = signed_in.get(response.location)
    assert builder.status_code == 200
    assert "Its sample input is saved" in builder.get_data(as_text=True)


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"name": "People", "api_url": "not a url"}, 422, "Use a full http:// or https://"),
        ({"name": "People", "api_url": ""}, 422, "Give the address"),
        ({"name": "", "api_url": "https://a.example.org"}, 422, "Give the workflow a name."),
        ({"name": "x" * 5000, "api_url": "https://a.example.org"}, 422, "200"),
        ({"name": "Pe\x00ple", "api_url": "https://a.example.org"}, 400, "NUL"),
        ({"name": "People", "api_url": "https://a.example.org/\x00"}, 400, "NUL"),
    ],
)
def test_bad_answers_are_shown_next_to_their_field(signed_in, db, project, fields, status, message):
    _, page = urls(project)
    response = post_form(signed_in, page, page, fields)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert db.session.scalars(select(Workflow).where(Workflow.project_id == project.id)).all() == []


def test_a_taken_name_and_a_foreign_credential_are_form_errors(signed_in, db, project):
    _, page = urls(project, "webhook-to-dhis2")
    assert post_form(signed_in, page, page, {"name": "Registrations"}).status_code == 302
    again = post_form(signed_in, page, page, {"name": "Registrations"})
    assert again.status_code == 422 and "already has a workflow named" in again.get_data(
        as_text=True
    )
    crafted = post_form(
        signed_in, page, page, {"name": "Other", "credential-create-tracked-entities": "nope"}
    )
    assert crafted.status_code == 422
    assert "Choose a DHIS2 credential shared into this project" in crafted.get_data(as_text=True)


@pytest.mark.parametrize(
    "key", ["nope", "00000000-0000-0000-0000-000000000000", "A%20B", "x" * 300]
)
def test_unknown_or_crafted_template_keys_are_404(signed_in, project, key):
    _, page = urls(project, key)
    assert signed_in.get(page).status_code == 404


def test_saving_as_template_names_the_bad_field(signed_in, db, project, flow):
    page = f"/projects/{project.id}/workflows/{flow.id}/save_as_template"
    assert "No sample input" in signed_in.get(page).get_data(as_text=True)
    saved = post_form(signed_in, page, page, {"name": "Sync", "description": "d", "sample": "none"})
    assert saved.status_code == 302 and saved.location.endswith("/workflows/new")
    for fields, message in [
        ({"name": "sync"}, "There already is a template named"),
        ({"name": "Other", "sample": "last"}, "has not run yet"),
        ({"name": "Other", "sample": "' OR 1=1 --"}, "Choose one of the inputs listed."),
        ({"name": "Other", "description": "d" * 3000}, "2000"),
        ({"name": "y" * 121}, "120"),
    ]:
        response = post_form(signed_in, page, page, fields)
        assert response.status_code == 422, fields
        assert message in response.get_data(as_text=True), fields
    assert post_form(signed_in, page, page, {"name": "N\x00"}).status_code == 400
    assert len(db.session.scalars(select(WorkflowTemplate)).all()) == 1


def test_an_editor_may_use_templates_but_not_save_or_delete_others(client, db, user, project, flow):
    row = saving.save_as_template(project.id, flow.id, user.id, name="Owner's")
    editor = factories.user()
    factories.member(project, editor, Role.EDITOR)
    log_in(client, editor.email, factories.PASSWORD)
    html = client.get(f"/projects/{project.id}/workflows/new").get_data(as_text=True)
    assert "Use template Owner" in html and "Delete template" not in html
    assert "Save one of this project" not in html
    base = f"/projects/{project.id}/workflows"
    assert client.get(f"{base}/{flow.id}/save_as_template").status_code == 403
    assert client.get(f"{base}/templates/{row.id}/delete").status_code == 403
    assert "Save as template" not in client.get(base).get_data(as_text=True)


def test_the_workflow_list_offers_admins_save_as_template(signed_in, project, flow):
    html = signed_in.get(f"/projects/{project.id}/workflows").get_data(as_text=True)
    assert f'href="/projects/{project.id}/workflows/{flow.id}/save_as_template"' in html
    assert "Save as template" in html


def test_the_saver_deletes_after_confirming(signed_in, db, user, project, flow):
    row = saving.save_as_template(project.id, flow.id, user.id, name="Temporary")
    page = f"/projects/{project.id}/workflows/templates/{row.id}/delete"
    assert "Workflows already created from it are not changed" in signed_in.get(page).get_data(
        as_text=True
    )
    response = post_form(signed_in, page, page, {})
    assert response.status_code == 302
    assert db.session.get(WorkflowTemplate, row.id) is None
    after = signed_in.get(response.location).get_data(as_text=True)
    assert "Template “Temporary” deleted" in after and "Use template Temporary" not in after
    assert signed_in.get(page).status_code == 404
