"""The trigger panel's signing-secret box: admins see whether a secret is set and set or
replace it (typed, or made by Ferry and shown once); a secret is never shown back; editors
see the rule read-only and cannot reach the box."""

from __future__ import annotations

import pytest

from app.models import Role, Trigger
from app.services.encryption import decrypt_text
from tests import factories
from tests.support import csrf_token_from, log_in

HX = {"HX-Request": "true"}


def base(flow) -> str:
    return f"/projects/{flow.project_id}/workflows/{flow.id}"


@pytest.fixture
def trigger_id(flow):
    """The flow's webhook trigger id, read before requests expire the flow's rows."""
    return flow.triggers[0].id


def as_admin(client, project):
    admin = factories.user()
    factories.member(project, admin, Role.ADMIN)
    log_in(client, admin.email, factories.PASSWORD)
    return client


def post_secret(client, flow, trigger_id, secret: str):
    token = csrf_token_from(client.get(base(flow)).get_data(as_text=True))
    return client.post(
        f"{base(flow)}/triggers/{trigger_id}/signature-secret",
        data={"secret": secret},
        headers={**HX, "X-CSRFToken": token},
    )


def test_the_box_says_whether_a_secret_is_set(client, db, project, flow, trigger_id):
    as_admin(client, project)
    html = client.get(f"{base(flow)}/webhook-signature?trigger=webhook", headers=HX).get_data(True)
    assert "<strong>not set</strong>" in html
    assert f"/triggers/{trigger_id}/signature-secret" in html
    unsaved = client.get(f"{base(flow)}/webhook-signature?trigger=new", headers=HX)
    assert "Save the workflow to set this trigger" in unsaved.get_data(True)


def test_an_empty_field_makes_a_secret_shown_once(client, db, project, flow, trigger_id):
    as_admin(client, project)
    reply = post_secret(client, flow, trigger_id, "")
    html = reply.get_data(as_text=True)
    assert reply.status_code == 200 and "shown only once" in html
    trigger = db.session.get(Trigger, trigger_id)
    db.session.refresh(trigger)
    made = decrypt_text(trigger.webhook_signature_secret_encrypted)
    assert f'value="{made}"' in html
    again = client.get(f"{base(flow)}/webhook-signature?trigger=webhook", headers=HX)
    assert made not in again.get_data(True) and "<strong>set</strong>" in again.get_data(True)
    assert "Replace secret" in again.get_data(True)


def test_a_typed_secret_is_kept_and_never_echoed(client, db, project, flow, trigger_id):
    as_admin(client, project)
    reply = post_secret(client, flow, trigger_id, "the-lab-systems-shared-secret")
    html = reply.get_data(as_text=True)
    assert reply.status_code == 200 and "Signing secret saved" in html
    assert "the-lab-systems-shared-secret" not in html
    trigger = db.session.get(Trigger, trigger_id)
    db.session.refresh(trigger)
    assert decrypt_text(trigger.webhook_signature_secret_encrypted) == (
        "the-lab-systems-shared-secret"
    )


def test_a_short_secret_is_422_next_to_the_field_and_not_kept(
    client, db, project, flow, trigger_id
):
    as_admin(client, project)
    reply = post_secret(client, flow, trigger_id, "tiny")
    html = reply.get_data(as_text=True)
    assert reply.status_code == 422
    assert 'id="webhook-signature-secret-error" role="alert">The secret is too short' in html
    assert 'value="tiny"' not in html  # secrets are not kept in the form
    trigger = db.session.get(Trigger, trigger_id)
    db.session.refresh(trigger)
    assert trigger.webhook_signature_secret_encrypted is None


def test_editors_see_the_rule_read_only_and_cannot_reach_the_box(
    app, db, project, flow, trigger_id
):
    editor = factories.user()
    factories.member(project, editor, Role.EDITOR)
    client = app.test_client()
    log_in(client, editor.email, factories.PASSWORD)
    page = client.get(base(flow)).get_data(as_text=True)
    assert "Require a signature" in page
    assert "Only project admins can change the signature rule" in page
    assert 'id="webhook-signature-secret-box"' not in page
    box = client.get(f"{base(flow)}/webhook-signature?trigger=webhook", headers=HX)
    assert box.status_code == 403
    assert post_secret(client, flow, trigger_id, "").status_code == 403


def test_the_first_request_guide_shows_where_the_signature_goes(signed_in, db, user):
    project = factories.project(user)
    source = factories.SIMPLE_WORKFLOW.format(name="Signed guide").replace(
        "    enabled: true\n",
        "    enabled: true\n    webhook_signature_algorithm: sha256\n"
        "    webhook_signature_header: X-Signature\n",
        1,
    )
    factories.workflow(project, source)
    html = signed_in.get(f"/projects/{project.id}/history").get_data(as_text=True)
    assert "X-Signature: sha256=HMAC-OF-BODY" in html.replace("&#34;", '"')
