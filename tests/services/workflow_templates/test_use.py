"""Creating a workflow from a template: the answers go into the document, the sample input
is saved as a test input in the same transaction, and bad answers name their field."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.models import Dataclip, DataclipType, Workflow
from app.services.credentials import sharing
from app.services.errors import Invalid, NotFound
from app.services.studio import run_panel
from app.services.workflow_templates import use
from tests.services.credentials.test_store import make_credential

URL = "https://registry.example.org/api/people"


def saved_inputs(db, project) -> dict[str, dict]:
    rows = db.session.scalars(
        select(Dataclip).where(
            Dataclip.project_id == project.id, Dataclip.type == DataclipType.SAVED_INPUT
        )
    )
    return {row.name: row.body for row in rows}


def workflow_count(db, project) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Workflow).where(Workflow.project_id == project.id)
    )


def test_the_http_template_posts_to_the_address_given(db, user, project):
    created = use.create_from_template(
        project.id,
        "webhook-to-http-api",
        "  People  to the registry ",
        user.id,
        settings={"api_url": "http://127.0.0.1:5999/people?source=ferry"},
    )
    workflow = created.workflow
    assert workflow.name == "People to the registry"
    body = workflow.steps[0].body
    assert '"http://127.0.0.1:5999/people?source=ferry"' in body and URL not in body
    assert [t.type.value for t in workflow.triggers] == ["webhook"]
    clip = db.session.get(Dataclip, created.sample_input_id)
    assert clip.name == "People to the registry — sample input"
    assert clip.body["data"]["records"][0]["first_name"] == "Aminata"
    # The run panel lists it among the saved test inputs.
    saved = run_panel.input_choices(workflow.id, project.id)["saved"]
    assert [c.dataclip_id for c in saved] == [clip.id]


@pytest.mark.parametrize(
    "address",
    ["", "registry.example.org", "ftp://example.org/x", "javascript:alert(1)", "http://",
     "http://a b", 'https://example.org/"+__import__("os")+"', "https://example.org/" + "x" * 2001],
)  # fmt: skip
def test_a_bad_address_is_refused_and_nothing_is_stored(db, user, project, address):
    before = workflow_count(db, project)
    with pytest.raises(Invalid) as caught:
        use.create_from_template(
            project.id, "webhook-to-http-api", "Records", user.id, settings={"api_url": address}
        )
    assert caught.value.field == "api_url"
    assert workflow_count(db, project) == before
    assert saved_inputs(db, project) == {}


def test_a_taken_name_is_refused_and_the_sample_is_not_kept(db, user, project):
    use.create_from_template(project.id, "csv-to-postgresql", "Members", user.id)
    with pytest.raises(Invalid) as caught:
        use.create_from_template(project.id, "csv-to-postgresql", "Members", user.id)
    assert caught.value.field == "name"
    assert list(saved_inputs(db, project)) == ["Members — sample input"]


def test_the_sample_input_name_is_made_free(db, user, project):
    run_panel.save_input(project.id, "Members — sample input", custom_text='{"data": {}}')
    created = use.create_from_template(project.id, "csv-to-postgresql", "Members", user.id)
    assert db.session.get(Dataclip, created.sample_input_id).name == ("Members — sample input (2)")


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_a_missing_or_long_name_is_refused(db, user, project, name):
    with pytest.raises(Invalid) as caught:
        use.create_from_template(project.id, "webhook-to-dhis2", name, user.id)
    assert caught.value.field == "name"


def test_a_chosen_credential_is_attached_and_others_refused(db, user, project):
    credential = make_credential(user, name="National DHIS2")
    sharing.share(user, credential.id, project.id)
    choices = use.credential_choices(project.id, use.get_template("webhook-to-dhis2"))
    assert choices == {"create-tracked-entities": ["National DHIS2"]}
    created = use.create_from_template(
        project.id,
        "webhook-to-dhis2",
        "Registrations",
        user.id,
        credentials={"create-tracked-entities": "National DHIS2"},
    )
    step = next(s for s in created.workflow.steps if s.key == "create-tracked-entities")
    assert step.credential_id == credential.id
    unshared = make_credential(user, name="Someone else's")
    with pytest.raises(Invalid) as caught:
        use.create_from_template(
            project.id,
            "webhook-to-dhis2",
            "Registrations 2",
            user.id,
            credentials={"create-tracked-entities": unshared.name},
        )
    assert caught.value.field == "credential-create-tracked-entities"


def test_an_unknown_template_is_not_found(db, user, project):
    with pytest.raises(NotFound):
        use.create_from_template(project.id, "no-such-template", "X", user.id)
