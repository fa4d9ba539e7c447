"""The signed "turn off these alerts" page (GET changes nothing, POST works signed out, a
tampered link is a 400, RFC 8058 one-click), the alert log's pages and filters with crafted
cursors, the profile's time zone, and members' default failure alerts by role."""

from __future__ import annotations

from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from app.models import (
    AlertLogEntry,
    AuditEvent,
    DigestFrequency,
    MailMessage,
    ProjectMember,
    Role,
    User,
)
from app.models.base import utcnow
from app.models.notifications import WorkflowAlertChoice
from app.services import members
from app.services.history.filters import encode_cursor
from app.services.notifications import links
from tests import factories
from tests.support import csrf_token_from


def text(reply) -> str:
    return unescape(reply.get_data(as_text=True))


def membership(db, project, person) -> ProjectMember:
    db.session.expire_all()
    return db.session.scalar(
        select(ProjectMember).where(
            ProjectMember.project_id == project.id, ProjectMember.user_id == person.id
        )
    )


def link(person, project, kind=links.FAILURE_ALERTS, workflow=None) -> str:
    request = links.Unsubscribe(person.id, project.id, kind, workflow.id if workflow else None)
    return "/unsubscribe/" + links.unsubscribe_token(request)


# --- unsubscribe ----------------------------------------------------------------------------------


def test_get_shows_what_turns_off_and_changes_nothing(client, db, user, project):
    address = link(user, project)
    for _ in range(3):  # a mail client's prefetch, a scanner, the person
        reply = client.get(address)
        assert reply.status_code == 200
    html = text(reply)
    assert "Clinic intake" in html and user.email in html and "failure alerts" in html
    assert "Nothing changes until you press the button" in html
    assert reply.headers["Cache-Control"] == "no-store"
    assert membership(db, project, user).failure_alerts is True


def test_post_turns_project_alerts_off_without_signing_in(client, db, user, project):
    workflow = factories.workflow(project, name="Patient sync")
    member = membership(db, project, user)
    db.session.add(WorkflowAlertChoice(member_id=member.id, workflow_id=workflow.id, enabled=True))
    db.session.commit()
    address = link(user, project)
    token = csrf_token_from(client.get(address).get_data(as_text=True))
    reply = client.post(address, data={"csrf_token": token})
    assert reply.status_code == 200 and "no longer gets failure alerts" in text(reply)
    assert membership(db, project, user).failure_alerts is False
    # The override that turned one workflow back on goes too: "every workflow" means it.
    assert db.session.scalar(select(WorkflowAlertChoice.id)) is None
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.event == "notification_choices_changed")
    )
    assert event.project_id == project.id and event.actor_id == user.id
    assert event.changes["via"] == "link in a mail"


def test_a_workflow_link_turns_off_that_workflow_only(client, db, user, project):
    workflow = factories.workflow(project, name="Patient sync")
    address = link(user, project, workflow=workflow)
    html = text(client.get(address))
    assert "Patient sync" in html
    client.post(address, data={"csrf_token": csrf_token_from(html)})
    assert membership(db, project, user).failure_alerts is True
    choice = db.session.scalar(select(WorkflowAlertChoice))
    assert choice.workflow_id == workflow.id and choice.enabled is False


@pytest.mark.parametrize(
    "kind, column, before, after",
    [
        (links.DIGEST, "digest", DigestFrequency.WEEKLY, DigestFrequency.NEVER),
        (links.CHANGE_NOTICES, "workflow_change_notices", True, False),
    ],
)
def test_digest_and_change_notice_links(client, db, user, project, kind, column, before, after):
    member = membership(db, project, user)
    setattr(member, column, before)
    db.session.commit()
    address = link(user, project, kind)
    client.post(address, data={"csrf_token": csrf_token_from(client.get(address).get_data(True))})
    assert getattr(membership(db, project, user), column) == after


def test_one_click_post_works_without_a_csrf_token(client, db, user, project):
    reply = client.post(link(user, project), data={"List-Unsubscribe": "One-Click"})
    assert reply.status_code == 204
    assert membership(db, project, user).failure_alerts is False


@pytest.mark.parametrize(
    "data", [{}, {"csrf_token": "forged"}, {"List-Unsubscribe": "One-Click", "x": "1"}]
)
def test_other_posts_without_the_pages_token_change_nothing(client, db, user, project, data):
    reply = client.post(link(user, project), data=data)
    assert reply.status_code == 400 and "Open the link from the mail again" in text(reply)
    assert membership(db, project, user).failure_alerts is True


def tampered(address: str) -> list[str]:
    token = address.removeprefix("/unsubscribe/")
    # Not the last character: its low bits may be padding that decoding drops.
    flipped = token[:-10] + ("A" if token[-10] != "A" else "B") + token[-9:]
    payload, signature = token.rsplit(".", 1)
    other_payload = payload[:-3] + ("x" if payload[-3] != "x" else "y") + payload[-2:]
    return [
        flipped,
        f"{other_payload}.{signature}",
        token[:-5],
        "x",
        "a" * 1200,
        token + ".x",
        "%2e%2e",
    ]


def test_tampered_or_unknown_tokens_are_a_400_page(client, db, user, project):
    for token in tampered(link(user, project)):
        for method in ("get", "post"):
            reply = getattr(client, method)(
                f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}
            )
            assert reply.status_code == 400, token
            assert "This link is not valid" in text(reply)
    assert membership(db, project, user).failure_alerts is True


def test_a_link_for_someone_who_left_is_refused(client, db, user, project):
    someone = factories.user()
    factories.member(project, someone, Role.VIEWER)
    address = link(someone, project)
    db.session.delete(membership(db, project, someone))
    db.session.commit()
    assert client.get(address).status_code == 400
    assert "no longer applies" in text(client.get(address))


# --- alert log ------------------------------------------------------------------------------------


def add_entries(db, project, count: int, start_minute=0, **values) -> list[AlertLogEntry]:
    start = utcnow() - timedelta(hours=1) + timedelta(minutes=start_minute)
    rows = []
    for number in range(count):
        row = AlertLogEntry(
            project_id=project.id,
            channel="email",
            kind=values.get("kind", "failure"),
            recipient=f"person{number}@example.org",
            status=values.get("status", "sent"),
            detail="",
            inserted_at=start + timedelta(seconds=number),
        )
        db.session.add(row)
        rows.append(row)
    db.session.commit()
    return rows


def test_the_alert_log_pages_newest_first_with_filters(signed_in, db, project):
    add_entries(db, project, 7)
    add_entries(db, project, 2, start_minute=30, status="suppressed")
    base = f"/projects/{project.id}/settings/notifications/log"
    first = text(signed_in.get(base + "?limit=5"))
    assert first.count("<tr>") == 1 + 5 and "Older entries" in first
    # Newest first: the two held back came last, then person6, person5, person4.
    assert first.index("Suppressed</span>") < first.index("person6@") < first.index("person4@")
    assert "person3@" not in first
    cursor = first.split("cursor=")[1].split('"')[0]
    second = text(signed_in.get(f"{base}?limit=5&cursor={cursor}"))
    assert second.count("<tr>") == 1 + 4 and "Older entries" not in second
    assert "person3@" in second and "person0@" in second and "person6@" not in second
    suppressed = text(signed_in.get(base + "?status=suppressed"))
    assert suppressed.count("Suppressed</span>") == 2
    other = factories.project(factories.user(), "Other")
    add_entries(db, other, 1, kind="digest")
    assert "No alerts match the filter" in text(signed_in.get(base + "?kind=digest"))


@pytest.mark.parametrize(
    "query",
    [
        "cursor=garbage",
        "cursor=" + "A" * 300,
        "cursor=WyIxOTAwIiwgIngiXQ",
        "status=exploded",
        "kind=%00",
        "limit=x",
        "limit=0",
        "kind=failure&kind=",
    ],
)
def test_crafted_alert_log_queries_are_a_400(signed_in, db, project, query):
    reply = signed_in.get(f"/projects/{project.id}/settings/notifications/log?{query}")
    if query == "kind=failure&kind=":
        assert reply.status_code == 200
        return
    assert reply.status_code == 400


def test_a_valid_cursor_from_another_place_only_lists_this_projects_entries(signed_in, db, project):
    other = factories.project(factories.user(), "Other")
    row = add_entries(db, other, 1)[0]
    cursor = encode_cursor(row.inserted_at + timedelta(days=1), row.id)
    html = text(signed_in.get(f"/projects/{project.id}/settings/notifications/log?cursor={cursor}"))
    assert "person0@" not in html and "No alerts yet" in html


# --- time zone --------------------------------------------------------------------------------


def post_zone(client, zone):
    token = csrf_token_from(client.get("/profile").get_data(as_text=True))
    return client.post("/profile/time-zone", data={"time_zone": zone, "csrf_token": token})


def test_the_profile_sets_a_time_zone(signed_in, db, user):
    assert 'value="UTC"' in text(signed_in.get("/profile"))
    assert post_zone(signed_in, " Africa/Nairobi ").status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).time_zone == "Africa/Nairobi"
    assert 'value="Africa/Nairobi"' in text(signed_in.get("/profile"))


@pytest.mark.parametrize(
    "zone", ["", "Mars/Olympus", "africa/nairobi", "UTC\x00", "A" * 500, "../etc/passwd"]
)
def test_unknown_time_zones_are_refused(signed_in, db, user, zone):
    reply = post_zone(signed_in, zone)
    assert reply.status_code == (400 if "\x00" in zone else 422)
    assert "time zone" in text(reply).lower() or "NUL" in text(reply)
    db.session.expire_all()
    assert db.session.get(User, user.id).time_zone == "UTC"


# --- defaults ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role, expected", [("viewer", False), ("editor", False), ("admin", True)])
def test_members_added_start_with_alerts_on_only_for_admins(db, user, project, role, expected):
    someone = factories.user()
    members.add_by_email(user, Role.OWNER, project.id, someone.email, role)
    assert membership(db, project, someone).failure_alerts is expected
    assert membership(db, project, user).failure_alerts is True  # the owner


def test_a_role_change_keeps_the_members_choice(db, user, project):
    someone = factories.user()
    members.add_by_email(user, Role.OWNER, project.id, someone.email, "viewer")
    member = membership(db, project, someone)
    members.change_role(user, Role.OWNER, project.id, member.id, "admin")
    assert membership(db, project, someone).failure_alerts is False


def test_an_accepted_invitation_sets_the_default_by_role(app, db, user, project):
    from app.services import invitations

    for email, role, expected in (
        ("new-admin@example.org", Role.ADMIN, True),
        ("new-viewer@example.org", Role.VIEWER, False),
    ):
        invitations.invite(email, user, project, role)
        mail = db.session.scalar(select(MailMessage.text).where(MailMessage.to_address == email))
        token = mail.split("/invitations/")[1].split()[0]
        person = invitations.accept(token, "New Person", "lantern cobalt river 42")
        assert membership(db, project, person).failure_alerts is expected
