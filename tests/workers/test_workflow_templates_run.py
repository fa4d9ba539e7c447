"""Ferry's templates run as created: the sample input saved with the workflow goes through
the real executor and sandbox, against loopback stand-ins for the target systems."""

from __future__ import annotations

from app.models import Run
from app.services.credentials import sharing
from app.services.studio import run_panel
from app.services.workflow_templates import use
from tests.browser.servers_studio import RecordingServer
from tests.services.credentials.test_store import make_credential
from tests.workers.adaptors.servers import FakeDhis2


def run_sample(db, executor, project, user, created) -> Run:
    run = run_panel.start_run(
        created.workflow.id,
        project.id,
        user.id,
        source="stored",
        dataclip_id=created.sample_input_id,
    )
    executor.execute(run.id)
    db.session.expire_all()
    return db.session.get(Run, run.id)


def test_webhook_to_http_api_posts_each_sample_record_renamed(db, user, project, executor):
    project.egress_allowlist = ["127.0.0.1"]
    db.session.commit()
    with RecordingServer() as api:
        created = use.create_from_template(
            project.id,
            "webhook-to-http-api",
            "Records",
            user.id,
            settings={"api_url": f"{api.url}/people"},
        )
        run = run_sample(db, executor, project, user, created)
    assert run.state.value == "success", run.error_message
    assert [r["path"] for r in api.received] == ["/people", "/people"]
    assert [r["body"] for r in api.received] == [
        {"given_name": "Aminata", "family_name": "Kamara", "phone": "+232 76 100 200",
         "source": "ferry"},
        {"given_name": "Ibrahim", "family_name": "Sesay", "phone": "+232 77 300 400",
         "source": "ferry"},
    ]  # fmt: skip


def test_webhook_to_dhis2_creates_the_sample_registrations(db, user, project, executor):
    project.egress_allowlist = ["127.0.0.1"]
    db.session.commit()
    with FakeDhis2() as dhis2:
        credential = make_credential(
            user, name="Test DHIS2", base_url=dhis2.origin, username=dhis2.USER,
            password=dhis2.PASSWORD,
        )  # fmt: skip
        sharing.share(user, credential.id, project.id)
        created = use.create_from_template(
            project.id,
            "webhook-to-dhis2",
            "Registrations",
            user.id,
            credentials={"create-tracked-entities": "Test DHIS2"},
        )
        run = run_sample(db, executor, project, user, created)
    assert run.state.value == "success", run.error_message
    assert len(dhis2.tracker["trackedEntities"]) == 2


def test_without_a_credential_the_dhis2_step_fails_and_says_so(db, user, project, executor):
    created = use.create_from_template(project.id, "webhook-to-dhis2", "Unset", user.id)
    run = run_sample(db, executor, project, user, created)
    assert run.state.value == "failed"
    assert run.error_message
