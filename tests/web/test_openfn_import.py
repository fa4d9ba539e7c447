"""Importing an OpenFn Lightning project.yaml: the page (paste or upload, preview, create), the
API (`POST /api/v1/projects/openfn_import`) and `ferry import-openfn`. A bad document is
refused with every problem at its path and creates nothing."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from app.models import Project, ProjectMember, Role, Step, Trigger, Workflow
from tests import factories
from tests.services.project_code.lightning_sample import LIGHTNING_PROJECT
from tests.support import csrf_token_from

PAGE = "/projects/import/openfn"
BROKEN = LIGHTNING_PROJECT.replace("target_job: Load-into-DHIS2", "target_job: Nowhere").replace(
    "cron_expression: '0 2 * * *'", "cron_expression: 'at two'"
)


def post(client, action: str, data: dict, **kwargs):
    """Open the import page like a browser, then send its form to `action`."""
    token = csrf_token_from(client.get(PAGE).get_data(as_text=True))
    return client.post(action, data={**data, "csrf_token": token}, **kwargs)


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- The page -----------------------------------------------------------------------------


def test_the_projects_list_and_the_new_project_page_lead_to_the_import(signed_in):
    assert PAGE in signed_in.get("/").get_data(as_text=True)
    assert PAGE in signed_in.get("/projects/new").get_data(as_text=True)
    html = signed_in.get(PAGE).get_data(as_text=True)
    assert "Import an OpenFn project" in html
    assert 'enctype="multipart/form-data"' in html


def test_the_preview_shows_what_will_be_created_and_what_is_left_and_stores_nothing(signed_in, db):
    before = count(db, Project)
    response = post(signed_in, f"{PAGE}/preview", {"document": LIGHTNING_PROJECT})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for words in ("Clinic referrals", "Referral intake", "Nightly summary", "cron 0 2 * * *"):
        assert words in html
    assert 'Load into DHIS2 <span class="text-body-secondary">· dhis2@1' in html
    assert "Jobs to port from JavaScript (4)" in html
    assert "Credentials to create and share (2)" in html
    assert "@openfn/language-twilio@0.4.2" in html
    assert "Create project" in html
    assert count(db, Project) == before


def test_an_uploaded_file_is_previewed_and_kept_in_the_box_for_the_create_step(signed_in):
    upload = (io.BytesIO(LIGHTNING_PROJECT.encode()), "project.yaml")
    response = post(
        signed_in,
        f"{PAGE}/preview",
        {"document": "", "upload": upload},
        content_type="multipart/form-data",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Jobs to port from JavaScript (4)" in html
    assert "amina@example.org-DHIS2 production" in html  # the text, in the box


def test_an_upload_that_is_not_text_is_refused_next_to_the_field(signed_in):
    upload = (io.BytesIO(b"\xff\xfe\x00binary"), "project.yaml")
    response = post(
        signed_in, f"{PAGE}/preview", {"upload": upload}, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    assert "not UTF-8 text" in response.get_data(as_text=True)


def test_an_empty_form_asks_for_a_document(signed_in):
    response = post(signed_in, f"{PAGE}/preview", {"document": "  "})
    assert response.status_code == 422
    assert "Paste a Lightning project.yaml" in response.get_data(as_text=True)


@pytest.mark.parametrize("action", ["/preview", ""])
def test_a_broken_document_lists_every_problem_with_its_path_and_creates_nothing(
    signed_in, db, action
):
    before = count(db, Project)
    response = post(signed_in, f"{PAGE}{action}", {"document": BROKEN})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "2 problems" in html
    assert "workflows.Referral-intake.edges.Fetch-referral-&gt;Load-into-DHIS2.target_job" in html
    assert "workflows.Nightly-summary.triggers.cron.cron_expression" in html
    assert "Create project" not in html
    assert BROKEN.splitlines()[0] in html  # what was typed stays in the box
    assert count(db, Project) == before


@pytest.mark.parametrize(
    "document",
    ["[" * 300 + "]" * 300, "- a\n- list\n", "{{{{", "name: x\n" * 3],
)
def test_odd_documents_are_refused_plainly(signed_in, document):
    response = post(signed_in, f"{PAGE}/preview", {"document": document})
    assert response.status_code == 422
    assert "cannot be imported" in response.get_data(as_text=True)


def test_creating_makes_the_project_with_the_user_as_owner_and_lists_the_jobs_to_port(
    signed_in, user, db
):
    response = post(signed_in, PAGE, {"document": LIGHTNING_PROJECT})
    assert response.status_code == 302
    project = db.session.scalar(select(Project).where(Project.name == "Clinic referrals"))
    assert response.headers["Location"].endswith(f"/projects/{project.id}/workflows")
    role = db.session.scalar(
        select(ProjectMember.role).where(ProjectMember.project_id == project.id)
    )
    assert role is Role.OWNER
    names = db.session.scalars(
        select(Workflow.name).where(Workflow.project_id == project.id).order_by(Workflow.name)
    ).all()
    assert names == ["Nightly summary", "Referral intake"]
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "4 job(s) to port from JavaScript" in page
    assert "“Fetch referral” in “Referral intake”" in page
    assert "“DHIS2 production”" in page


def test_an_imported_project_keeps_the_javascript_and_its_triggers_are_off(signed_in, db):
    post(signed_in, PAGE, {"document": LIGHTNING_PROJECT})
    project = db.session.scalar(select(Project).where(Project.name == "Clinic referrals"))
    body = db.session.scalar(
        select(Step.body)
        .join(Workflow, Step.workflow_id == Workflow.id)
        .where(Workflow.project_id == project.id, Step.name == "Load into DHIS2")
    )
    assert body.startswith("# ---- port this job from OpenFn (JavaScript) ----")
    assert "# create('trackedEntityInstances', state => state.data);" in body
    enabled = db.session.scalars(
        select(Trigger.enabled)
        .join(Workflow, Trigger.workflow_id == Workflow.id)
        .where(Workflow.project_id == project.id)
    ).all()
    assert enabled == [False, False]


def test_a_nul_character_is_refused_by_the_site_wide_guard_naming_the_box(signed_in):
    response = post(signed_in, f"{PAGE}/preview", {"document": "name: A\x00B\n"})
    assert response.status_code == 400
    assert "document" in response.get_data(as_text=True)


# --- The API ------------------------------------------------------------------------------


def test_the_api_creates_the_project_and_answers_the_notes(api, user, db):
    response = api.post(
        "/projects/openfn_import",
        data=LIGHTNING_PROJECT,
        headers={"Content-Type": "application/yaml"},
    )
    assert response.status_code == 201
    answer = response.get_json()
    assert answer["project"]["name"] == "Clinic referrals"
    kinds = [note["kind"] for note in answer["notes"]]
    assert kinds.count("port") == 4 and kinds.count("credential") == 2
    listed = api.get("/projects").get_json()["projects"]
    assert ("Clinic referrals", "owner") in [(p["name"], p["role"]) for p in listed]


def test_a_dry_run_answers_the_ferry_document_and_creates_nothing(api, db):
    before = count(db, Project)
    response = api.post("/projects/openfn_import?dry_run=true", data=LIGHTNING_PROJECT)
    assert response.status_code == 200
    document = response.get_json()["document"]
    assert set(document["workflows"]) == {"referral-intake", "nightly-summary"}
    assert count(db, Project) == before


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (BROKEN, "workflows.Nightly-summary.triggers.cron.cron_expression"),
        ("name: A\x00B\n", ""),
        (b"\xff\xfe", ""),
        ("[" * 300 + "]" * 300, ""),
        ("", ""),
        ('{"name": "JSON", "workflows": []}', "workflows"),
    ],
)
def test_the_api_refuses_bad_documents_with_their_paths(api, db, body, path):
    before = count(db, Project)
    response = api.post("/projects/openfn_import", data=body)
    assert response.status_code == 422
    answer = response.get_json()
    assert path in [problem["path"] for problem in answer["problems"]]
    assert count(db, Project) == before


def test_the_openapi_document_describes_the_import(client, db):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/projects/openfn_import"]["post"]
    assert "201" in operation["responses"] and "422" in operation["responses"]


def test_the_api_needs_a_token(client, db):
    assert client.post("/api/v1/projects/openfn_import", data="name: x").status_code == 401


# --- The command --------------------------------------------------------------------------


@pytest.fixture
def cli_app(app, db, monkeypatch):
    """`ferry import-openfn` working inside this test's transaction."""
    import workers.cli_openfn as command

    monkeypatch.setattr(command, "build_app", lambda settings: app)
    monkeypatch.setattr(command, "settings_from_env", lambda: SimpleNamespace(database_url=""))
    monkeypatch.setattr("app.services.startup.require_database", lambda url: None)
    return command.import_openfn


def test_the_command_is_part_of_ferry():
    from workers.cli import main

    assert "import-openfn" in main.commands


def test_the_command_imports_a_file_for_an_owner(cli_app, db, tmp_path):
    owner = factories.user(email="amina@example.org")
    path = tmp_path / "project.yaml"
    path.write_text(LIGHTNING_PROJECT)
    result = CliRunner().invoke(cli_app, [str(path), "--owner", "amina@example.org"])
    assert result.exit_code == 0, result.output
    assert "Created project “Clinic referrals”" in result.output
    assert "port: Port “Fetch referral”" in result.output
    project = db.session.scalar(select(Project).where(Project.name == "Clinic referrals"))
    member = db.session.scalar(
        select(ProjectMember.user_id).where(ProjectMember.project_id == project.id)
    )
    assert member == owner.id


def test_the_command_lists_every_problem_and_exits_non_zero(cli_app, db, tmp_path):
    factories.user(email="amina@example.org")
    path = tmp_path / "project.yaml"
    path.write_text(BROKEN)
    before = count(db, Project)
    result = CliRunner().invoke(cli_app, [str(path), "--owner", "amina@example.org"])
    assert result.exit_code == 1
    assert "workflows.Nightly-summary.triggers.cron.cron_expression" in result.stderr
    assert "target_job" in result.stderr
    assert count(db, Project) == before


def test_the_command_refuses_an_unknown_owner_or_a_missing_file(cli_app, db, tmp_path):
    path = tmp_path / "project.yaml"
    path.write_text(LIGHTNING_PROJECT)
    unknown = CliRunner().invoke(cli_app, [str(path), "--owner", "no@one.org"])
    assert unknown.exit_code == 1
    assert "No user has the email no@one.org" in unknown.stderr
    missing = CliRunner().invoke(cli_app, [str(tmp_path / "nope.yaml"), "--owner", "no@one.org"])
    assert missing.exit_code == 2
    assert "cannot read" in missing.stderr
