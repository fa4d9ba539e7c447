"""The API carries a webhook's signature rule in the workflow document (never the secret),
says whether the secret is set, names the field of a wrong rule, and keeps editors from
changing the rule of an existing trigger."""

from __future__ import annotations

from app.models import Role
from app.services import accounts
from app.services.triggers import webhook_signature_settings
from tests import factories

DOC = factories.SIMPLE_WORKFLOW.format(name="Signed by API").replace(
    "    enabled: true\n",
    "    enabled: true\n"
    "    webhook_signature_algorithm: sha1\n"
    "    webhook_signature_header: X-Hub-Signature\n",
    1,
)


def create(api, project, document=DOC):
    return api.post(
        f"/projects/{project.id}/workflows", data=document, content_type="application/yaml"
    )


def test_the_document_carries_the_rule_and_the_answer_says_if_a_secret_is_set(api, project, db):
    created = create(api, project)
    assert created.status_code == 201
    body = created.get_json()
    entry = body["document"]["triggers"]["webhook"]
    assert entry["webhook_signature_algorithm"] == "sha1"
    assert entry["webhook_signature_header"] == "X-Hub-Signature"
    assert entry["webhook_replay_window_s"] == 300
    (trigger,) = body["triggers"]
    assert trigger["signature_secret_set"] is False
    webhook_signature_settings.set_secret(trigger["id"], "shared-with-the-hub-1234")
    fetched = api.get(f"/workflows/{body['id']}").get_json()
    assert fetched["triggers"][0]["signature_secret_set"] is True
    assert "shared-with-the-hub-1234" not in str(fetched)


def test_a_wrong_rule_is_422_naming_the_field(api, project, db):
    bad = DOC.replace("sha1", "sha512")
    response = create(api, project, bad)
    assert response.status_code == 422
    assert response.get_json()["field"] == "triggers.webhook.webhook_signature_algorithm"
    assert "sha256, sha1" in response.get_json()["error"]


def test_an_editor_cannot_drop_the_rule_through_the_api(app, api, project, db):
    workflow_id = create(api, project).get_json()["id"]
    editor = factories.user()
    factories.member(project, editor, Role.EDITOR)
    token = accounts.create_api_token(editor.email)
    unsigned = DOC.replace("    webhook_signature_algorithm: sha1\n", "").replace(
        "    webhook_signature_header: X-Hub-Signature\n", ""
    )
    response = app.test_client().put(
        f"/api/v1/workflows/{workflow_id}",
        data=unsigned,
        content_type="application/yaml",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 422
    assert response.get_json()["field"] == "triggers.webhook.webhook_signature_algorithm"
    assert "Only project admins" in response.get_json()["error"]
    still = api.get(f"/workflows/{workflow_id}").get_json()["document"]["triggers"]["webhook"]
    assert still["webhook_signature_algorithm"] == "sha1"
