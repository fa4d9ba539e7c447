"""A webhook's signature rule in the workflow document: exported without the secret, read
back the same, refused with the exact field when wrong, changed on an existing trigger only
by admins; the secret is set apart, typed or made by Ferry and shown once."""

from __future__ import annotations

import copy

import pytest
import yaml

from app.models import Role
from app.services.errors import Invalid
from app.services.studio import versions
from app.services.triggers import webhook_signature_settings as settings
from app.services.workflows import export, store
from app.services.workflows.documents import check_document
from app.services.workflows.shapes import DocumentInvalid
from tests import factories

SIGNED = factories.SIMPLE_WORKFLOW.format(name="Signed intake").replace(
    "    enabled: true\n",
    "    enabled: true\n"
    "    webhook_signature_algorithm: sha256\n"
    "    webhook_signature_header: X-Signature\n"
    "    webhook_timestamp_header: X-Timestamp\n"
    "    webhook_replay_window_s: 120\n",
    1,
)


def problems_of(extra: str) -> dict[str, str]:
    """{path: message} of a document whose webhook trigger carries `extra`."""
    source = factories.SIMPLE_WORKFLOW.format(name="W").replace(
        "    enabled: true\n", "    enabled: true\n" + extra, 1
    )
    return {p.path: p.message for p in check_document(source).errors}


def test_export_carries_the_rule_but_never_the_secret(user, db):
    workflow = factories.workflow(factories.project(user), SIGNED)
    trigger = workflow.triggers[0]
    settings.set_secret(trigger.id, "a-secret-long-enough-to-use")
    entry = export.export_document(store.get_workflow(workflow.id))["triggers"]["webhook"]
    assert entry["webhook_signature_algorithm"] == "sha256"
    assert entry["webhook_signature_header"] == "X-Signature"
    assert entry["webhook_timestamp_header"] == "X-Timestamp"
    assert entry["webhook_replay_window_s"] == 120
    text = export.export_yaml(store.get_workflow(workflow.id))
    assert "a-secret-long-enough-to-use" not in text and "secret" not in text


def test_export_then_import_gives_the_same_rule(user, db):
    project = factories.project(user)
    original = factories.workflow(project, SIGNED)
    document = yaml.safe_load(export.export_yaml(original))
    document["name"] = "Signed intake (copy)"
    copy = store.create_workflow(project.id, document)
    assert export.export_document(copy)["triggers"] == document["triggers"]
    # The copy has no secret yet: it refuses every request until an admin sets one.
    assert copy.triggers[0].webhook_signature_secret_encrypted is None


def test_an_unsigned_trigger_exports_no_signature_keys(user, db):
    workflow = factories.workflow(factories.project(user))
    entry = export.export_document(workflow)["triggers"]["webhook"]
    assert not set(entry) & set(settings.KEYS)


@pytest.mark.parametrize(
    ("extra", "field", "says"),
    [
        ("    webhook_signature_algorithm: md5\n", "webhook_signature_algorithm", "sha256, sha1"),
        ("    webhook_signature_algorithm: sha256\n", "webhook_signature_header", "needs the name"),
        (
            "    webhook_signature_algorithm: sha1\n    webhook_signature_header: 'X Sig'\n",
            "webhook_signature_header",
            "letters, digits",
        ),
        (
            "    webhook_signature_algorithm: sha1\n    webhook_signature_header: Authorization\n",
            "webhook_signature_header",
            "already means something",
        ),
        (
            "    webhook_signature_algorithm: sha256\n    webhook_signature_header: X-S\n"
            "    webhook_timestamp_header: x-s\n",
            "webhook_timestamp_header",
            "header of its own",
        ),
        (
            "    webhook_signature_algorithm: sha256\n    webhook_signature_header: X-S\n"
            "    webhook_replay_window_s: 0\n",
            "webhook_replay_window_s",
            "from 1 to 86400",
        ),
        (
            "    webhook_signature_algorithm: sha256\n    webhook_signature_header: X-S\n"
            "    webhook_replay_window_s: '300'\n",
            "webhook_replay_window_s",
            "whole number",
        ),
        ("    webhook_signature_header: X-S\n", "webhook_signature_algorithm", "no signature"),
    ],
    ids=[
        "unknown-algorithm",
        "no-header",
        "bad-header",
        "taken-header",
        "same-headers",
        "zero-window",
        "text-window",
        "header-without-algorithm",
    ],
)
def test_a_wrong_rule_names_its_field(extra, field, says):
    found = problems_of(extra)
    assert says in found[f"triggers.webhook.{field}"], found


def test_an_editor_cannot_change_the_rule_but_an_admin_can(user, db):
    """Dropping or changing a signature rule changes how callers authenticate (admins)."""
    project = factories.project(user)
    workflow = factories.workflow(project, SIGNED)
    editor, admin = factories.user(), factories.user()
    factories.member(project, editor, Role.EDITOR)
    factories.member(project, admin, Role.ADMIN)
    same = export.export_document(store.get_workflow(workflow.id))
    unsigned = copy.deepcopy(same)
    for key in settings.KEYS:
        unsigned["triggers"]["webhook"].pop(key)
    with pytest.raises(Invalid) as refused:
        store.replace_workflow(workflow.id, unsigned, actor_id=editor.id)
    assert refused.value.field == "triggers.webhook.webhook_signature_algorithm"
    assert "Only project admins" in refused.value.message
    db.session.rollback()  # as the web error handler does
    # An editor's save that leaves the rule as it is goes through.
    same["jobs"]["first"]["name"] = "Renamed"
    store.replace_workflow(workflow.id, same, actor_id=editor.id)
    saved = store.replace_workflow(workflow.id, unsigned, actor_id=admin.id)
    assert saved.triggers[0].webhook_signature_algorithm is None


@pytest.fixture
def signed_with_path(user, db):
    """(workflow id, editor): a signed trigger at the custom path "lab-results"."""
    project = factories.project(user)
    source = SIGNED.replace(
        "    enabled: true\n", "    enabled: true\n    custom_path: lab-results\n"
    )
    workflow = factories.workflow(project, source)
    editor = factories.user()
    factories.member(project, editor, Role.EDITOR)
    return workflow.id, editor


def test_an_editor_cannot_hand_a_signed_address_to_an_unsigned_trigger(signed_with_path, db):
    workflow_id, editor = signed_with_path
    document = export.export_document(store.get_workflow(workflow_id))
    document["triggers"]["webhook"].pop("custom_path")
    document["triggers"]["open"] = {"type": "webhook", "custom_path": "lab-results"}
    with pytest.raises(Invalid) as refused:
        store.replace_workflow(workflow_id, document, actor_id=editor.id)
    assert refused.value.field == "triggers.webhook.custom_path"
    db.session.rollback()


def test_an_editor_cannot_remove_a_signed_trigger_or_its_workflow(signed_with_path, user, db):
    workflow_id, editor = signed_with_path
    document = export.export_document(store.get_workflow(workflow_id))
    document["triggers"] = {"other": {"type": "webhook"}}
    document["edges"] = {"other->first": {"source_trigger": "other", "target_job": "first"}}
    with pytest.raises(Invalid) as refused:
        store.replace_workflow(workflow_id, document, actor_id=editor.id)
    assert refused.value.field == "triggers.webhook" and "requires a signature" in str(
        refused.value.message
    )
    db.session.rollback()
    with pytest.raises(Invalid):
        store.delete_workflow(workflow_id, actor_id=editor.id)
    db.session.rollback()
    store.delete_workflow(workflow_id, actor_id=user.id)  # the owner may


def test_an_editor_may_add_a_new_signed_trigger(user, db):
    project = factories.project(user)
    workflow = factories.workflow(project)
    editor = factories.user()
    factories.member(project, editor, Role.EDITOR)
    document = export.export_document(store.get_workflow(workflow.id))
    document["triggers"]["lab"] = {
        "type": "webhook",
        "webhook_signature_algorithm": "sha256",
        "webhook_signature_header": "X-Lab-Signature",
    }
    document["edges"]["lab->first"] = {"source_trigger": "lab", "target_job": "first"}
    saved = store.replace_workflow(workflow.id, document, actor_id=editor.id)
    lab = next(t for t in saved.triggers if t.key == "lab")
    assert lab.webhook_signature_header == "X-Lab-Signature"


def test_restoring_a_version_brings_its_rule_back(user, db):
    project = factories.project(user)
    workflow = factories.workflow(project, SIGNED)
    changed = export.export_document(workflow)
    changed["triggers"]["webhook"]["webhook_replay_window_s"] = 600
    store.replace_workflow(workflow.id, changed, actor_id=user.id)
    restored = versions.restore(workflow.id, project.id, 1, 2, user.id)
    assert restored.triggers[0].webhook_replay_window_s == 120


def test_a_typed_secret_is_kept_and_a_blank_one_is_made_and_shown_once(user, db):
    trigger = factories.workflow(factories.project(user), SIGNED).triggers[0]
    assert settings.set_secret(trigger.id, "  typed-by-the-admin-1234  ") is None
    assert trigger.webhook_signature_secret_encrypted is not None
    made = settings.set_secret(trigger.id, "")
    assert made and len(made) == 64


@pytest.mark.parametrize(
    ("secret", "says"), [("short", "too short"), ("x" * 501, "too long")], ids=["short", "long"]
)
def test_a_bad_secret_is_refused_naming_the_field(user, db, secret, says):
    trigger = factories.workflow(factories.project(user), SIGNED).triggers[0]
    with pytest.raises(Invalid) as refused:
        settings.set_secret(trigger.id, secret)
    assert refused.value.field == "secret" and says in refused.value.message


def test_a_document_error_lists_every_signature_problem(user, db):
    source = SIGNED.replace("X-Timestamp", "X-Signature").replace("120", "-1")
    with pytest.raises(DocumentInvalid) as refused:
        store.create_workflow(factories.project(user).id, source)
    paths = {p.path for p in refused.value.problems}
    assert "triggers.webhook.webhook_timestamp_header" in paths
    assert "triggers.webhook.webhook_replay_window_s" in paths
