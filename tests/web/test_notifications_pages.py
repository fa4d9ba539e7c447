"""The Notifications tab per role: every member sets their own choices (never another's),
only admins and owners set the project's alert settings and send test alerts, bad input is
answered 4xx with nothing stored, and the secret is never shown again."""

from __future__ import annotations

from html import unescape

import pytest
from sqlalchemy import select

from app.models import AuditEvent, DigestFrequency, Project, ProjectMember
from app.models.notifications import AlertLogEntry, WorkflowAlertChoice
from app.services.encryption import decrypt_text
from tests import factories
from tests.support import csrf_token_from, log_in


def url(project, tail: str = "") -> str:
    return f"/projects/{project.id}/settings/notifications{tail}"


def post(client, project, action: str, data: dict):
    token = csrf_token_from(client.get(url(project)).get_data(as_text=True))
    return client.post(url(project, f"/{action}"), data={**data, "csrf_token": token})


def text(reply) -> str:
    return unescape(reply.get_data(as_text=True))


def membership(db, project, person) -> ProjectMember:
    db.session.expire_all()
    return db.session.scalar(
        select(ProjectMember).where(
            ProjectMember.project_id == project.id, ProjectMember.user_id == person.id
        )
    )


def stored(db, project) -> Project:
    db.session.expire_all()
    return db.session.get(Project, project.id)


MINE = {"failure_alerts": "y", "digest": "daily", "digest_hour": "8", "change_notices": "y"}
PROJECT = {"limit_count": "3", "limit_minutes": "5", "webhook_url": ""}


# --- every member's own choices ---------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "editor", "admin", "owner"])
def test_every_member_sets_their_own_choices(db, team, project, role):
    workflow = factories.workflow(project, name="Patient sync")
    client = team[role]
    html = text(client.get(url(project)))
    assert "Your notifications" in html and "Patient sync" in html
    reply = post(client, project, "mine", {**MINE, f"workflow-{workflow.id}": "off"})
    assert reply.status_code == 302
    member = membership(db, project, team.people[role])
    assert member.digest is DigestFrequency.DAILY and member.digest_hour == 8
    assert member.failure_alerts and member.workflow_change_notices
    choice = db.session.scalar(
        select(WorkflowAlertChoice).where(WorkflowAlertChoice.member_id == member.id)
    )
    assert choice.workflow_id == workflow.id and choice.enabled is False
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.event == "notification_choices_changed")
    )
    assert event.project_id == project.id and event.actor_id == team.people[role].id
    # "As the project setting" removes the override again.
    post(client, project, "mine", {**MINE, f"workflow-{workflow.id}": "project"})
    db.session.expire_all()
    assert db.session.scalar(select(WorkflowAlertChoice.id)) is None


def test_a_member_changes_only_their_own_choices(db, team, project, user):
    viewer_client = team["viewer"]
    owner_before = membership(db, project, user).digest
    post(viewer_client, project, "mine", {**MINE, "digest": "monthly"})
    assert membership(db, project, user).digest is owner_before
    assert membership(db, project, team.people["viewer"]).digest is DigestFrequency.MONTHLY


def test_unchecked_switches_turn_things_off(db, team, project, user):
    reply = post(team["owner"], project, "mine", {"digest": "never", "digest_hour": "0"})
    assert reply.status_code == 302
    member = membership(db, project, user)
    assert not member.failure_alerts and not member.workflow_change_notices
    assert member.digest_hour == 0


@pytest.mark.parametrize(
    "field, value",
    [
        ("digest_hour", "24"),
        ("digest_hour", "-1"),
        ("digest_hour", "x"),
        ("digest_hour", ""),
        ("digest_hour", "8\x00"),
        ("digest_hour", "٨"),
        ("digest_hour", "9" * 5000),
        ("digest", "hourly"),
        ("digest", ""),
        ("digest", "daily\x00"),
    ],
)
def test_bad_choices_are_refused_and_nothing_is_stored(db, team, project, user, field, value):
    reply = post(team["owner"], project, "mine", {**MINE, field: value})
    html = text(reply)
    if "\x00" in value:  # refused at the door for every form (app/web/errors.py)
        assert reply.status_code == 400 and "NUL character" in html
    else:
        assert reply.status_code == 422
        assert "from 0 to 23" in html or "never, daily, weekly or monthly" in html
    member = membership(db, project, user)
    assert member.digest is DigestFrequency.NEVER and member.digest_hour == 7


@pytest.mark.parametrize(
    "key", ["workflow-not-a-uuid", "workflow-00000000-0000-0000-0000-000000000000"]
)
def test_workflows_of_no_or_another_project_are_refused(db, team, project, user, key):
    reply = post(team["owner"], project, "mine", {**MINE, key: "off"})
    assert reply.status_code == 422 and "not one of this project's" in text(reply)
    assert membership(db, project, user).digest is DigestFrequency.NEVER


def test_another_projects_workflow_is_refused(db, team, project, user):
    other = factories.workflow(factories.project(user, "Elsewhere"), name="Other flow")
    reply = post(team["owner"], project, "mine", {**MINE, f"workflow-{other.id}": "off"})
    assert reply.status_code == 422
    assert db.session.scalar(select(WorkflowAlertChoice.id)) is None


def test_bad_workflow_choice_value(db, team, project):
    workflow = factories.workflow(project, name="Patient sync")
    reply = post(team["owner"], project, "mine", {**MINE, f"workflow-{workflow.id}": "maybe"})
    assert reply.status_code == 422 and "Patient sync" in text(reply)


# --- the project's alert settings ---------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_viewers_and_editors_read_project_settings_but_cannot_change_them(db, team, project, role):
    html = text(team[role].get(url(project)))
    assert "Only the project's admins and owner change these" in html
    assert "Save alert settings" not in html and "Send me a test alert" not in html
    reply = post(team[role], project, "project", {**PROJECT, "limit_count": "50"})
    assert reply.status_code == 403
    assert stored(db, project).alert_limit_count == 3
    assert post(team[role], project, "test", {}).status_code == 403
    assert team[role].get(url(project, "/log")).status_code == 403


@pytest.mark.parametrize("role", ["admin", "owner"])
def test_admins_set_the_rate_limit_logs_and_http_channel(db, team, project, role):
    data = {
        "limit_count": "10",
        "limit_minutes": "60",
        "include_logs": "y",
        "webhook_url": "https://chat.example.org/hooks/abc",
        "webhook_secret": "s3cret-signing-key",
    }
    assert post(team[role], project, "project", data).status_code == 302
    saved = stored(db, project)
    assert (saved.alert_limit_count, saved.alert_limit_minutes) == (10, 60)
    assert saved.alert_include_logs and saved.alert_webhook_url == data["webhook_url"]
    assert decrypt_text(saved.alert_webhook_secret_encrypted) == "s3cret-signing-key"
    html = text(team[role].get(url(project)))
    assert "s3cret-signing-key" not in html and "Logs may contain personal data" in html
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.event == "alert_settings_changed")
    )
    assert event.project_id == project.id and "s3cret" not in str(event.changes)
    # An empty secret keeps the stored one; "remove" removes it.
    post(team[role], project, "project", {**data, "webhook_secret": ""})
    assert decrypt_text(stored(db, project).alert_webhook_secret_encrypted) == "s3cret-signing-key"
    post(team[role], project, "project", {**data, "webhook_secret": "", "remove_secret": "y"})
    assert stored(db, project).alert_webhook_secret_encrypted is None


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"limit_count": "0"}, "from 1 to 100"),
        ({"limit_count": "101"}, "from 1 to 100"),
        ({"limit_count": "x"}, "from 1 to 100"),
        ({"limit_count": "9" * 400}, "from 1 to 100"),
        ({"limit_minutes": "1441"}, "from 1 to 1440"),
        ({"limit_minutes": "-5"}, "from 1 to 1440"),
        ({"webhook_url": "https://user:pw@chat.example.org/h"}, "user name and password"),
        ({"webhook_url": "https://token@chat.example.org/h"}, "user name and password"),
        ({"webhook_url": "ftp://chat.example.org/h"}, "must start with https://"),
        ({"webhook_url": "javascript:alert(1)"}, "must start with https://"),
        ({"webhook_url": "file:///etc/passwd"}, "must start with https://"),
        ({"webhook_url": "http://chat.example.org/h"}, "Use https://"),
        ({"webhook_url": "http://10.0.0.5/h"}, "Use https://"),
        ({"webhook_url": "https://chat.example.org/h\x00"}, "NUL character"),
        ({"webhook_url": "https://chat.example.org/h\x07"}, "control characters"),
        ({"webhook_url": "https://chat.example.org/a b"}, "control characters"),
        ({"webhook_url": "https://"}, "needs a host name"),
        ({"webhook_url": "https://chat.example.org:99999/"}, "check the address and port"),
        ({"webhook_url": "https://example.org/" + "a" * 2000}, "too long"),
        ({"webhook_secret": "a\x00b", "webhook_url": "https://c.example.org"}, "NUL"),
        ({"webhook_secret": "Z" * 501, "webhook_url": "https://c.example.org"}, "too long"),
    ],
)
def test_bad_project_settings_are_refused_and_nothing_is_stored(
    db, team, project, changes, message
):
    data = {**PROJECT, "include_logs": "y", "webhook_secret": "MARKER-secret", **changes}
    reply = post(team["owner"], project, "project", data)
    nul = any("\x00" in value for value in changes.values())
    assert reply.status_code == (400 if nul else 422)
    html = text(reply)
    assert message in html
    assert "MARKER-secret" not in html and "Z" * 501 not in html  # the secret is never sent back
    saved = stored(db, project)
    assert saved.alert_limit_count == 3 and not saved.alert_include_logs
    assert saved.alert_webhook_url is None and saved.alert_webhook_secret_encrypted is None


@pytest.mark.parametrize(
    "address, reason",
    [
        ("https://127.0.0.1/h", "loopback"),
        ("https://10.1.2.3:8443/h", "private"),
        ("https://[::1]/h", "loopback"),
        ("https://localhost/h", "loopback"),
        ("https://169.254.169.254/latest", "link-local"),
        ("https://2130706433/h", "loopback"),
    ],
)
def test_internal_urls_are_saved_with_a_warning_the_egress_policy_would_refuse(
    db, team, project, address, reason
):
    reply = post(team["owner"], project, "project", {**PROJECT, "webhook_url": address})
    assert reply.status_code == 302
    page = text(team["owner"].get(url(project)))
    assert "would be refused" in page and reason in page and "egress allowlist" in page


def test_plain_http_is_accepted_for_an_allowlisted_internal_host(db, team, project):
    project.egress_allowlist = ["chat.office.lan", "10.20.0.15:8080"]
    db.session.commit()
    for address in ("http://chat.office.lan/hook", "http://10.20.0.15:8080/hook"):
        reply = post(team["owner"], project, "project", {**PROJECT, "webhook_url": address})
        assert reply.status_code == 302, text(reply)
        assert stored(db, project).alert_webhook_url == address
        assert "would be refused" not in text(team["owner"].get(url(project)))


# --- test alert and the time zone --------------------------------------------------------------


def test_admins_send_themselves_a_test_alert(db, team, project, user):
    reply = post(team["owner"], project, "test", {})
    assert reply.status_code == 302 and "/log" in reply.headers["Location"]
    entry = db.session.scalar(select(AlertLogEntry).where(AlertLogEntry.project_id == project.id))
    assert entry.kind == "test" and entry.recipient == user.email
    html = text(team["owner"].get(reply.headers["Location"]))
    assert user.email in html and "Test" in html


def test_a_superuser_who_is_no_member_has_no_own_choices(app, db, project):
    admin = factories.user(superuser=True)
    client = app.test_client()
    log_in(client, admin.email, factories.PASSWORD)
    assert "not a member of this project" in text(client.get(url(project)))
    reply = post(client, project, "mine", MINE)
    assert reply.status_code == 422 and "not a member" in text(reply)
