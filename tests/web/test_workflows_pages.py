"""The workflows pages: list, create, import, rename, delete, export, the builder's endpoints
(save with its lock, checks, fragments, runs) and who may do what."""

from __future__ import annotations

import json
import re

import pytest
from werkzeug.datastructures import MultiDict

from app.models import Role
from app.services.workflows import export, store
from tests import factories
from tests.support import csrf_token_from, log_in, post_form

SOURCE = """
name: {name}
triggers:
  webhook:
    type: webhook
jobs:
  send:
    name: Send
    adaptor: http@1
    body: 'post("https://example.org/records", body=S.data)'
edges:
  webhook->send:
    source_trigger: webhook
    target_job: send
"""


@pytest.fixture
def project(db, user):
    return factories.project(user, "Health data")


@pytest.fixture
def flow(project):
    return factories.workflow(project, SOURCE.format(name="Patient sync"))


def _base(project) -> str:
    return f"/projects/{project.id}/workflows"


def _token(client, url: str) -> dict:
    return {"X-CSRFToken": csrf_token_from(client.get(url).get_data(as_text=True))}


def test_empty_list_invites_to_create_a_workflow(signed_in, project):
    html = signed_in.get(_base(project)).get_data(as_text=True)
    assert "No workflows yet" in html and "Create workflow" in html


def test_list_shows_trigger_switch_and_counts(signed_in, project, flow):
    html = signed_in.get(_base(project)).get_data(as_text=True)
    assert "Patient sync" in html and "webhook" in html
    assert "never run" in html and 'role="switch"' in html


def test_create_opens_the_builder_and_refuses_a_duplicate_name(signed_in, project, flow):
    base = _base(project)
    response = post_form(signed_in, f"{base}/new", base, {"name": "Stock levels"})
    assert response.status_code == 302
    builder = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Stock levels" in builder and 'id="studio-canvas"' in builder
    duplicate = post_form(signed_in, f"{base}/new", base, {"name": "Patient sync"})
    assert duplicate.status_code == 422
    assert "This project already has a workflow named" in duplicate.get_data(as_text=True)


def test_import_names_the_bad_field(signed_in, project):
    base = _base(project)
    bad = SOURCE.format(name="Imported").replace("http@1", "nosuch@1")
    response = post_form(signed_in, f"{base}/new", f"{base}/import", {"document": bad})
    assert response.status_code == 422
    assert "jobs.send.adaptor: Unknown adaptor" in response.get_data(as_text=True)
    good = post_form(
        signed_in, f"{base}/new", f"{base}/import", {"document": SOURCE.format(name="Imported")}
    )
    assert good.status_code == 302
    assert [w.name for w in store.list_workflows(project.id)] == ["Imported"]


def test_rename_delete_and_switch_off(signed_in, project, flow):
    base = f"{_base(project)}/{flow.id}"
    factories.workflow(project, SOURCE.format(name="Other"))
    taken = post_form(signed_in, f"{base}/rename", f"{base}/rename", {"name": "Other"})
    assert taken.status_code == 422 and "already has a workflow named" in taken.get_data(True)
    assert (
        post_form(signed_in, f"{base}/rename", f"{base}/rename", {"name": "Renamed"}).status_code
        == 302
    )
    switched = post_form(
        signed_in,
        _base(project),
        f"{base}/enabled",
        {"enabled": "false"},
        headers={"HX-Request": "true"},
    )
    assert switched.status_code == 200 and ">Off<" in switched.get_data(as_text=True)
    wrong = post_form(signed_in, f"{base}/delete", f"{base}/delete", {"confirm": "Patient"})
    assert wrong.status_code == 422 and "Type the name exactly" in wrong.get_data(as_text=True)
    assert (
        post_form(signed_in, f"{base}/delete", f"{base}/delete", {"confirm": "Renamed"}).status_code
        == 302
    )
    assert store.list_workflows(project.id)[0].name == "Other"


def test_yaml_view_and_download(signed_in, project, flow):
    base = f"{_base(project)}/{flow.id}/yaml"
    page = signed_in.get(base).get_data(as_text=True)
    assert "webhook-&gt;send" in page and "Download" in page
    download = signed_in.get(f"{base}?download=1")
    assert download.headers["Content-Disposition"] == 'attachment; filename="patient-sync.yaml"'
    assert "name: Patient sync" in download.get_data(as_text=True)


def test_save_takes_a_snapshot_and_a_stale_save_gets_409(signed_in, project, flow):
    base = f"{_base(project)}/{flow.id}"
    headers = _token(signed_in, base)
    document = export.export_document(flow)
    document["jobs"]["send"]["name"] = "Send to API"
    body = {"document": document, "positions": {"job:send": {"x": 1, "y": 2}}, "lock_version": 1}
    saved = signed_in.post(f"{base}/save", json=body, headers=headers)
    assert saved.status_code == 200 and saved.json["lock_version"] == 2
    trigger_id = store.get_workflow(flow.id).triggers[0].id
    assert saved.json["triggers"]["webhook"]["url"].endswith(f"/i/{trigger_id}")
    stale = signed_in.post(f"{base}/save", json=body, headers=headers)
    assert stale.status_code == 409 and "Someone else saved" in stale.json["error"]
    document["jobs"]["send"]["name"] = ""
    empty = signed_in.post(f"{base}/save", json={**body, "lock_version": 2}, headers=headers)
    assert empty.status_code == 422
    assert empty.json == {"error": "A step needs a name.", "field": "jobs.send.name"}


def test_validate_reports_a_cycle(signed_in, project, flow):
    base = f"{_base(project)}/{flow.id}"
    document = export.export_document(flow)
    document["jobs"]["back"] = {"name": "Back", "adaptor": "http@1", "body": ""}
    document["edges"]["send->back"] = {"source_job": "send", "target_job": "back"}
    document["edges"]["back->send"] = {"source_job": "back", "target_job": "send"}
    reply = signed_in.post(
        f"{base}/validate", json={"document": document}, headers=_token(signed_in, base)
    )
    paths = {p["path"] for p in reply.json["problems"]}
    assert {"edges.send->back", "edges.back->send"} <= paths


def test_cron_preview_fragment(signed_in, project):
    url = f"{_base(project)}/cron-preview"
    good = signed_in.get(url, query_string={"cron_expression": "0 2 * * *"}).get_data(True)
    assert good.count("<li>") == 5 and "02:00" in good
    bad = signed_in.get(url, query_string={"cron_expression": "every day"}).get_data(True)
    assert "is not a valid cron expression" in bad


def test_request_form_and_line(signed_in, project, flow):
    base = _base(project)
    form = signed_in.get(f"{base}/request-form?adaptor=http@1&operation=post").get_data(True)
    assert 'name="path-value"' in form and "Add field" in form
    headers = _token(signed_in, f"{base}/{flow.id}")
    line = signed_in.post(
        f"{base}/request-line",
        data={
            "adaptor": "http@1",
            "operation": "get",
            "path-mode": "input",
            "path-value": "data.url",
        },
        headers=headers,
    )
    assert json.loads(line.headers["HX-Trigger"])["ferry:insert-line"]["line"] == "get(S.data.url)"
    missing = signed_in.post(
        f"{base}/request-line", data={"adaptor": "http@1", "operation": "get"}, headers=headers
    )
    assert missing.status_code == 422
    assert 'data-param-error="path" role="alert">Path or URL is required.' in missing.get_data(True)
    reopened = signed_in.post(
        f"{base}/request-form",
        data={"adaptor": "http@1", "line": "get(S.data.url)"},
        headers=headers,
    )
    assert 'value="data.url"' in reopened.get_data(as_text=True)


def test_runs_from_the_builder(signed_in, project, flow):
    base = f"{_base(project)}/{flow.id}"
    step_id = flow.steps[0].id
    headers = _token(signed_in, base)
    bad = signed_in.post(
        f"{base}/runs", data={"source": "custom", "custom": "{oops"}, headers=headers
    )
    assert bad.status_code == 422 and bad.headers["HX-Retarget"] == "#run-input-error"
    assert "The input is not valid JSON" in bad.get_data(as_text=True)
    started = signed_in.post(
        f"{base}/runs", data={"source": "custom", "custom": '{"data": {"n": 1}}'}, headers=headers
    )
    assert started.status_code == 201
    run_id = re.search(r'data-run-id="([0-9a-f-]+)"', started.get_data(as_text=True)).group(1)
    status = signed_in.get(f"{base}/runs/{run_id}/status", headers={"HX-Request": "true"})
    assert 'data-run-state="available"' in status.get_data(as_text=True)
    tab = signed_in.get(f"{base}/runs/{run_id}/step?tab=output&step_id={step_id}")
    assert "has not run in this run" in tab.get_data(as_text=True)
    saved = signed_in.post(
        f"{base}/inputs",
        data={"source": "custom", "custom": '{"data": [1]}', "name": "One record"},
        headers=headers,
    )
    assert "Saved “One record” as a test input." in saved.get_data(as_text=True)


def test_viewer_sees_a_read_only_canvas_and_is_refused_changes(client, db, project, flow):
    viewer = factories.user()
    factories.member(project, viewer, Role.VIEWER)
    log_in(client, viewer.email, factories.PASSWORD)
    base = f"{_base(project)}/{flow.id}"
    page = client.get(base).get_data(as_text=True)
    assert "Read-only: your role is viewer" in page
    assert 'data-action="save"' not in page and 'data-action="run"' not in page
    data = json.loads(page.split('id="studio-data">', 1)[1].split("</script>", 1)[0])
    assert data["can_edit"] is False
    headers = _token(client, base)
    body = {"document": export.export_document(flow), "positions": {}, "lock_version": 1}
    assert client.post(f"{base}/save", json=body, headers=headers).status_code == 403
    assert client.post(f"{base}/runs", data={"source": "empty"}, headers=headers).status_code == 403
    assert client.post(f"{base}/inputs", data={"name": "x"}, headers=headers).status_code == 403
    assert client.get(f"{_base(project)}/new").status_code == 403


def test_webhook_auth_is_for_admins_and_shows_the_secret_once(app, client, db, project, flow):
    trigger_id = flow.triggers[0].id
    editor = factories.user()
    factories.member(project, editor, Role.EDITOR)
    log_in(client, editor.email, factories.PASSWORD)
    url = f"{_base(project)}/{flow.id}/triggers/{trigger_id}/auth"
    headers = _token(client, f"{_base(project)}/{flow.id}")
    assert client.post(url, data={"method": "api_key"}, headers=headers).status_code == 403
    admin = factories.user()
    factories.member(project, admin, Role.ADMIN)
    client = app.test_client()
    log_in(client, admin.email, factories.PASSWORD)
    headers = _token(client, f"{_base(project)}/{flow.id}")
    reply = client.post(url, data={"method": "api_key"}, headers=headers).get_data(as_text=True)
    assert "it is shown only once" in reply and 'id="webhook-secret-value"' in reply
    basic = client.post(url, data={"method": "basic", "username": ""}, headers=headers)
    assert basic.status_code == 422 and "needs a username" in basic.get_data(as_text=True)


def test_outsiders_get_404(signed_in, db):
    other = factories.project(factories.user())
    foreign = factories.workflow(other, SOURCE.format(name="Theirs"))
    assert signed_in.get(f"/projects/{other.id}/workflows").status_code == 404
    assert signed_in.get(f"/projects/{other.id}/workflows/{foreign.id}").status_code == 404


def test_credential_picker_lists_shared_credentials_with_type_and_production_mark(
    signed_in, user, project, flow
):
    from app.services.credentials import sharing
    from app.services.credentials import store as credentials

    def make(name, schema, production, **body):
        fields = {f"body.{key}": [value] for key, value in body.items()}
        return credentials.create_credential(user, name, schema, fields, production)

    live = make(
        "DHIS2 live",
        "dhis2",
        True,
        base_url="https://dhis2.example.org",
        username="a",
        password="pw-123456",
    )
    api = make("Partner API", "http", False, base_url="https://api.example.org", api_key="k-1234")
    make("Not shared", "http", False, base_url="https://x.example.org", api_key="k-5678")
    sharing.share(user, live.id, project.id)
    sharing.share(user, api.id, project.id)
    html = signed_in.get(f"{_base(project)}/{flow.id}").get_data(as_text=True)
    picker = html[html.index('id="step-credential"') : html.index('id="step-credential-missing"')]
    labels = {
        name: picker[picker.index(f'value="{name}"') :].split("</label>")[0]
        for name in ("DHIS2 live", "Partner API")
    }
    # The same markup as every credential list (credentials/_label.html).
    assert '<span class="ferry-credential">DHIS2 live <span class="badge' in labels["DHIS2 live"]
    assert "data-credential-type>DHIS2</span>" in labels["DHIS2 live"]
    assert "production</span>" in labels["DHIS2 live"]
    assert "data-credential-type>HTTP" in labels["Partner API"]
    assert "production" not in labels["Partner API"]
    assert "Not shared" not in html
    assert 'name="step-credential" value="" checked' in picker


def test_request_form_lists_values_of_a_variadic_operation(signed_in, project, flow):
    base = _base(project)
    form = signed_in.get(f"{base}/request-form?adaptor=common@1&operation=log").get_data(True)
    assert '<option value="list" selected>Values</option>' in form
    assert "Add value" in form and 'name="args-rowvalue"' in form and 'name="args-key"' not in form
    headers = _token(signed_in, f"{base}/{flow.id}")
    posted = signed_in.post(
        f"{base}/request-line",
        data=MultiDict(
            [
                ("adaptor", "common@1"),
                ("operation", "log"),
                ("args-mode", "list"),
                ("args-rowmode", "text"),
                ("args-rowvalue", "patient"),
                ("args-rowmode", "input"),
                ("args-rowvalue", "data.id"),
            ]
        ),
        headers=headers,
    )
    written = json.loads(posted.headers["HX-Trigger"])["ferry:insert-line"]
    assert written["line"] == 'log("patient", S.data.id)'
    reopened = signed_in.post(
        f"{base}/request-form",
        data={"adaptor": "common@1", "line": 'log("patient", S.data.id)'},
        headers=headers,
    ).get_data(as_text=True)
    rows = reopened[reopened.index('data-rows="args"') : reopened.index("<template")]
    assert rows.count("data-row>") == 2
    assert 'value="patient"' in rows and 'value="data.id"' in rows
    assert '<option value="input" selected>From input</option>' in rows
