"""The settings page's "Project as code" card: every member downloads project.yaml; admins
paste or upload one, see what it would change (nothing stored), then apply it; problems are
listed with their paths and nothing changes; editors and viewers may not import."""

from __future__ import annotations

import io
import re
from html import unescape

import pytest
import yaml
from sqlalchemy import select

from app.models import Role, Workflow
from app.services.project_code import document
from tests import factories
from tests.services.project_code.sample_project import sample_project
from tests.support import csrf_token_from, log_in


@pytest.fixture
def clinic(user):
    return sample_project(user)


@pytest.fixture
def owner(app, db, user, clinic):
    return signed_in_as(app, user)


def signed_in_as(app, person):
    client = app.test_client()
    assert log_in(client, person.email, factories.PASSWORD).status_code == 302
    return client


def member(app, clinic, role: Role):
    person = factories.user()
    factories.member(clinic, person, role)
    return signed_in_as(app, person)


def page(project) -> str:
    return f"/projects/{project.id}/settings"


def post(client, project, action: str, data: dict, **kwargs):
    token = csrf_token_from(client.get(page(project)).get_data(as_text=True))
    return client.post(
        f"{page(project)}/code/{action}", data={**data, "csrf_token": token}, **kwargs
    )


def text(reply) -> str:
    return unescape(reply.get_data(as_text=True))


def changed_yaml(project) -> str:
    doc = document.export_project(project.id)
    doc["workflows"]["case-intake"]["jobs"]["receive"]["body"] = (
        "fn(lambda state: state)\nlog('v2')\n"
    )
    return document.to_yaml(doc)


def test_every_member_downloads_the_project_yaml(app, clinic):
    viewer = member(app, clinic, Role.VIEWER)
    reply = viewer.get(f"{page(clinic)}/project.yaml")
    assert reply.status_code == 200
    assert reply.mimetype == "application/yaml"
    assert 'filename="project.yaml"' in reply.headers["Content-Disposition"]
    assert yaml.safe_load(reply.get_data(as_text=True)) == document.export_project(clinic.id)
    shown = text(viewer.get(page(clinic)))
    assert "Download project.yaml" in shown
    assert "Only the project's admins and owner can import a project.yaml." in shown
    assert "Show changes" not in shown


def test_plan_shows_the_changes_with_the_body_diff_and_stores_nothing(owner, clinic, db):
    reply = post(owner, clinic, "plan", {"document": changed_yaml(clinic)})
    assert reply.status_code == 200
    shown = text(reply)
    assert "Applying this project.yaml will make 1 change:" in shown
    assert "workflows.case-intake.jobs.receive.body" in shown
    assert "+log('v2')" in shown
    assert "Apply" in shown
    versions = db.session.scalars(
        select(Workflow.lock_version).where(Workflow.project_id == clinic.id)
    )
    assert set(versions) == {1}


def test_apply_changes_the_project_and_says_how_much(owner, clinic, db):
    reply = post(owner, clinic, "apply", {"document": changed_yaml(clinic)})
    assert reply.status_code == 302
    assert reply.headers["Location"].endswith("/settings#code")
    assert "project.yaml applied: 1 change." in text(owner.get(page(clinic)))
    db.session.expire_all()
    receive = store_body(db, clinic, "Case intake", "receive")
    assert receive.endswith("log('v2')\n")


def test_an_unchanged_document_says_nothing_would_change(owner, clinic):
    same = document.to_yaml(document.export_project(clinic.id))
    assert "nothing would change" in text(post(owner, clinic, "plan", {"document": same}))
    post(owner, clinic, "apply", {"document": same})
    assert "the project already matched it, nothing changed" in text(owner.get(page(clinic)))


def test_an_uploaded_file_is_planned_and_fills_the_apply_form(owner, clinic):
    upload = (io.BytesIO(changed_yaml(clinic).encode()), "project.yaml")
    reply = post(owner, clinic, "plan", {"upload": upload}, content_type="multipart/form-data")
    assert reply.status_code == 200
    html = reply.get_data(as_text=True)
    assert re.search(
        r'<textarea[^>]*id="apply-document"[^>]*hidden|<textarea[^>]*hidden[^>]*id="apply-document"',
        html,
    )
    assert "log(&#39;v2&#39;)" in reply.get_data(as_text=True)


def test_problems_are_listed_with_their_paths_and_nothing_changes(owner, clinic):
    doc = document.export_project(clinic.id)
    doc["description"] = "Not saved"
    doc["settings"]["concurrency"] = 0
    doc["workflows"]["patient-sync"]["jobs"]["fetch"]["adaptor"] = "nope@1"
    doc["credentials"]["Payroll"] = {}
    before = document.to_yaml(document.export_project(clinic.id))
    for action in ("plan", "apply"):
        reply = post(owner, clinic, action, {"document": document.to_yaml(doc)})
        assert reply.status_code == 422
        shown = text(reply)
        assert "Nothing was changed: the document has 3 problems." in shown
        for path in (
            "settings.concurrency",
            "credentials.Payroll",
            "workflows.patient-sync.jobs.fetch.adaptor",
        ):
            assert f"<code>{path}</code>" in shown
        assert "Not saved" in shown  # what was pasted stays in the box
    assert document.to_yaml(document.export_project(clinic.id)) == before


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"document": ""}, "Paste a project.yaml, or upload the file."),
        ({"document": "name: [oops"}, "not valid YAML"),
        ({"document": "- a\n- list\n"}, "must be a mapping"),
        ({"document": "name: x\nworkflows: " + "[" * 80 + "]" * 80}, "nested too deeply"),
        ({"document": "name: x\ndescription: !!python/object:os.system {}\n"}, "not valid YAML"),
        ({"upload": (io.BytesIO(b"\xff\xfe"), "project.yaml")}, "not UTF-8 text"),
    ],
)
def test_bad_documents_are_refused_on_the_page(owner, clinic, data, words):
    kwargs = {"content_type": "multipart/form-data"} if "upload" in data else {}
    reply = post(owner, clinic, "plan", data, **kwargs)
    assert reply.status_code == 422
    assert words in text(reply)


def test_a_nul_character_is_refused_without_a_server_error(owner, clinic):
    reply = post(owner, clinic, "plan", {"document": "name: a\x00b\n"})
    assert 400 <= reply.status_code < 500


@pytest.mark.parametrize("role", [Role.EDITOR, Role.VIEWER])
def test_editors_and_viewers_may_not_import(app, clinic, role):
    client = member(app, clinic, role)
    same = document.to_yaml(document.export_project(clinic.id))
    assert post(client, clinic, "plan", {"document": same}).status_code == 403
    assert post(client, clinic, "apply", {"document": same}).status_code == 403


def store_body(db, project, workflow_name: str, job_key: str) -> str:
    from app.services.workflows import store

    workflow_id = db.session.scalar(
        select(Workflow.id).where(Workflow.project_id == project.id, Workflow.name == workflow_name)
    )
    return {s.key: s.body for s in store.get_workflow(workflow_id).steps}[job_key]
