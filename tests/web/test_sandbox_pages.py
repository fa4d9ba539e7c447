"""Sandbox pages: the settings card and "Create sandbox" (what comes along, who may), the
sandbox badge and list label, the comparison with the parent, and the merge review with its
warning and tick; bad input (NUL, long names, crafted ids, a project that is not a sandbox,
an admin of one side only) answers 4xx with what to fix and changes nothing."""

from __future__ import annotations

import re
import uuid

import pytest

from app.models import Role
from app.services.project_code.document import export_project, keyed_workflows
from app.services.sandboxes import cloning
from app.services.workflows import store
from app.services.workflows.export import export_document
from tests import factories
from tests.services.sandbox_world import clinic as make_clinic
from tests.support import csrf_token_from, log_in


@pytest.fixture
def clinic(db):
    return make_clinic()


def _as(client, user):
    assert log_in(client, user.email, factories.PASSWORD).status_code == 302
    return client


def _set_body(project_id, actor, body, key="patient-sync", job="load"):
    workflow = keyed_workflows(project_id)[key]
    document = export_document(workflow)
    document["jobs"][job]["body"] = body
    store.replace_workflow(workflow.id, document, actor_id=actor.id)


def _body(project_id, key="patient-sync", job="load"):
    return {s.key: s.body for s in keyed_workflows(project_id)[key].steps}[job]


def _form(client, url, data):
    """Open the page at `url`, then post its form (with the page's CSRF token and
    fingerprint) plus `data` to the same address."""
    html = client.get(url).get_data(as_text=True)
    fields = {"csrf_token": csrf_token_from(html)}
    found = re.search(r'name="fingerprint"[^>]*value="([0-9a-f]+)"', html) or re.search(
        r'value="([0-9a-f]+)"[^>]*name="fingerprint"', html
    )
    if found:
        fields["fingerprint"] = found.group(1)
    return client.post(url, data={**fields, **data})


def test_the_settings_page_offers_create_sandbox_to_admins_only(client, clinic):
    url = f"/projects/{clinic.project.id}/settings"
    page = _as(client, clinic.admin).get(url).get_data(as_text=True)
    assert 'id="sandboxes"' in page and f"/projects/{clinic.project.id}/sandboxes/new" in page
    viewer = factories.user()
    factories.member(clinic.project, viewer, Role.VIEWER)
    client.post("/logout", data={"csrf_token": csrf_token_from(page)})
    page = _as(client, viewer).get(url).get_data(as_text=True)
    assert "Only the project's admins and owner can create a sandbox." in page
    assert "/sandboxes/new" not in page


def test_the_new_sandbox_page_says_what_comes_along(client, clinic):
    page = _as(client, clinic.admin).get(f"/projects/{clinic.project.id}/sandboxes/new")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'value="Clinic sync sandbox"' in html
    assert "Schedules are copied switched off" in html
    assert "API key" in html  # the admin's own: shared
    assert "DHIS2 live — owner: Test Person" in html and "ask the owner" in html


def test_creating_a_sandbox_opens_it_with_the_badge_and_a_warning_about_credentials(client, clinic):
    _as(client, clinic.admin)
    html = client.get(f"/projects/{clinic.project.id}/sandboxes/new").get_data(as_text=True)
    response = client.post(
        f"/projects/{clinic.project.id}/sandboxes",
        data={"csrf_token": csrf_token_from(html), "name": "Load rewrite"},
    )
    assert response.status_code == 302
    [sandbox] = cloning.relations(clinic.project).sandboxes
    assert response.headers["Location"].endswith(f"/projects/{sandbox.id}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Sandbox of Clinic sync" in page
    assert "Not shared into the sandbox: DHIS2 live" in page
    listing = client.get("/").get_data(as_text=True)
    assert listing.count("Sandbox of Clinic sync") == 1
    settings = client.get(f"/projects/{clinic.project.id}/settings").get_data(as_text=True)
    assert "Load rewrite" in settings and "data-sandbox-list" in settings


@pytest.mark.parametrize(
    ("name", "status", "message"),
    [
        ("bad\x00name", 400, "contains a NUL character"),
        ("x" * 201, 422, "at most 200 characters"),
    ],
)
def test_a_bad_name_is_answered_on_the_form_and_nothing_is_created(
    client, clinic, name, status, message
):
    _as(client, clinic.admin)
    html = client.get(f"/projects/{clinic.project.id}/sandboxes/new").get_data(as_text=True)
    response = client.post(
        f"/projects/{clinic.project.id}/sandboxes",
        data={"csrf_token": csrf_token_from(html), "name": name},
    )
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert cloning.relations(clinic.project).sandboxes == []


def test_an_editor_cannot_create_a_sandbox(client, clinic):
    editor = factories.user()
    factories.member(clinic.project, editor, Role.EDITOR)
    response = _as(client, editor).get(f"/projects/{clinic.project.id}/sandboxes/new")
    assert response.status_code == 403
    assert "needs the admin role" in response.get_data(as_text=True)


def test_the_comparison_shows_the_changed_step_and_its_body_diff(client, clinic):
    sandbox = cloning.create_sandbox(clinic.admin, clinic.project.id).sandbox
    _set_body(sandbox.id, clinic.admin, "log('rewritten')\n")
    page = _as(client, clinic.admin).get(f"/projects/{sandbox.id}/sandbox/compare")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Compare with “Clinic sync”" in html
    assert 'data-workflow="patient-sync"' in html and 'data-entry="load"' in html
    assert "+log(&#39;rewritten&#39;)" in html
    assert 'data-workflow="case-intake"' not in html


def test_merge_after_the_parent_changed_warns_needs_the_tick_then_applies(client, clinic):
    sandbox = cloning.create_sandbox(clinic.admin, clinic.project.id).sandbox
    _set_body(sandbox.id, clinic.admin, "log('sandbox')\n")
    _set_body(clinic.project.id, clinic.owner, "log('hotfix')\n")
    url = f"/projects/{sandbox.id}/sandbox/merge"
    html = _as(client, clinic.admin).get(url).get_data(as_text=True)
    assert "changed since this sandbox was cloned" in html and "data-replaced" in html
    assert "workflows.patient-sync.jobs.load.body" in html

    refused = _form(client, url, {})
    assert refused.status_code == 422
    assert "Tick “I understand" in refused.get_data(as_text=True)
    assert _body(clinic.project.id) == "log('hotfix')\n"

    merged = _form(client, url, {"understand": "y"})
    assert merged.status_code == 302
    assert merged.headers["Location"].endswith(f"/projects/{clinic.project.id}")
    assert _body(clinic.project.id) == "log('sandbox')\n"


def test_a_stale_review_is_shown_again_with_the_reason(client, clinic):
    sandbox = cloning.create_sandbox(clinic.admin, clinic.project.id).sandbox
    _set_body(sandbox.id, clinic.admin, "log('sandbox')\n")
    url = f"/projects/{sandbox.id}/sandbox/merge"
    html = _as(client, clinic.admin).get(url).get_data(as_text=True)
    response = client.post(url, data={"csrf_token": csrf_token_from(html), "fingerprint": "0" * 32})
    assert response.status_code == 409
    assert "changed while you reviewed" in response.get_data(as_text=True)
    assert _body(clinic.project.id) != "log('sandbox')\n"


def test_an_admin_of_the_sandbox_only_is_told_the_missing_role(client, clinic):
    sandbox = cloning.create_sandbox(clinic.admin, clinic.project.id).sandbox
    editor = factories.user()
    factories.member(clinic.project, editor, Role.EDITOR)
    factories.member(sandbox, editor, Role.ADMIN)
    response = _as(client, editor).get(f"/projects/{sandbox.id}/sandbox/merge")
    assert response.status_code == 403
    assert "admin role in “Clinic sync”; yours is editor" in response.get_data(as_text=True)


def test_a_project_that_is_not_a_sandbox_cannot_be_compared_or_merged(client, clinic):
    _as(client, clinic.owner)
    for url in ("compare", "merge"):
        response = client.get(f"/projects/{clinic.project.id}/sandbox/{url}")
        assert response.status_code == 409
        assert "is not a sandbox" in response.get_data(as_text=True)
    before = export_project(clinic.project.id)
    html = client.get(f"/projects/{clinic.project.id}/settings").get_data(as_text=True)
    response = client.post(
        f"/projects/{clinic.project.id}/sandbox/merge",
        data={"csrf_token": csrf_token_from(html), "fingerprint": "x"},
    )
    assert response.status_code == 409
    assert export_project(clinic.project.id) == before


@pytest.mark.parametrize("path", ["/sandbox/compare", "/sandbox/merge", "/sandboxes/new"])
def test_crafted_project_ids_are_not_found(client, clinic, path):
    _as(client, clinic.owner)
    assert client.get(f"/projects/{uuid.uuid4()}{path}").status_code == 404
    assert client.get(f"/projects/not-a-uuid{path}").status_code == 404
    assert client.get(f"/projects/{clinic.project.id}%00{path}").status_code in (400, 404)


def test_crafted_merge_fields_change_nothing(client, clinic):
    sandbox = cloning.create_sandbox(clinic.admin, clinic.project.id).sandbox
    url = f"/projects/{sandbox.id}/sandbox/merge"
    before = export_project(clinic.project.id)
    _as(client, clinic.admin)
    # Workflow keys the sandbox never deleted are ignored: there is nothing to merge.
    response = _form(client, url, {"delete": ["../../case-intake", "x" * 5000, "case-intake"]})
    assert response.status_code == 422
    assert "nothing to merge" in response.get_data(as_text=True)
    response = _form(client, url, {"delete": "case\x00intake"})
    assert response.status_code == 400
    assert "NUL character" in response.get_data(as_text=True)
    response = _form(client, url, {"fingerprint": ""})
    assert response.status_code == 422
    assert "Review the merge before applying it." in response.get_data(as_text=True)
    assert export_project(clinic.project.id) == before
