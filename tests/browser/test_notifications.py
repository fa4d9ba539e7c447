"""The notifications journey of issue 14: a viewer opens the project's Notifications tab,
asks for a daily digest at 08:00 and turns failure alerts off for one workflow (the page
shows the saved choices, and the database holds them), then sets their time zone; the owner
is warned about an alert URL the egress policy would refuse, sends a test alert and reads
it in the alert log."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models import DigestFrequency, ProjectMember, Role, User
from app.models.notifications import WorkflowAlertChoice
from app.services import accounts, projects
from app.services.demo import DEMO_EMAIL
from app.services.workflows import store
from tests.browser.conftest import screenshot
from tests.browser.studio_helpers import sign_in, with_live_data

PASSWORD = "notifications-journey-password"
VIEWER = "vera.viewer@example.org"
WORKFLOW = """
name: {name}
triggers:
  webhook:
    type: webhook
    enabled: true
jobs:
  send:
    name: Send
    adaptor: common@1
    body: |
      fn(lambda state: state)
edges:
  webhook->send:
    source_trigger: webhook
    target_job: send
    condition_type: always
"""


def clinic(project_name: str = "Mobile clinics", viewer: str = VIEWER) -> dict[str, str]:
    """A project with a viewer who turned failure alerts on, and two workflows (the live
    server's database lives for the session, so each test names its own)."""

    def change():
        owner = db.session.query(User).filter_by(email=DEMO_EMAIL).one()
        project = projects.create_project(owner, project_name)
        person = accounts.create_user(viewer, PASSWORD, name="Vera Viewer")
        db.session.add(
            ProjectMember(
                project_id=project.id, user_id=person.id, role=Role.VIEWER, failure_alerts=True
            )
        )
        db.session.commit()
        ids = {"project": str(project.id)}
        for name in ("Patient sync", "Stock report"):
            ids[name] = str(store.create_workflow(project.id, WORKFLOW.format(name=name)).id)
        return ids

    return with_live_data(change)


def saved_choices(project_id: str) -> dict:
    def read():
        member = db.session.scalar(
            select(ProjectMember)
            .join(User, User.id == ProjectMember.user_id)
            .where(User.email == VIEWER, ProjectMember.project_id == project_id)
        )
        overrides = dict(
            db.session.execute(
                select(WorkflowAlertChoice.workflow_id, WorkflowAlertChoice.enabled).where(
                    WorkflowAlertChoice.member_id == member.id
                )
            ).all()
        )
        return {
            "digest": member.digest,
            "hour": member.digest_hour,
            "alerts": member.failure_alerts,
            "overrides": {str(key): value for key, value in overrides.items()},
        }

    return with_live_data(read)


def test_a_viewer_asks_for_a_daily_digest_and_silences_one_workflow(page: Page):
    ids = clinic()
    sign_in(page, VIEWER, PASSWORD)
    page.goto(f"/projects/{ids['project']}/settings")
    page.get_by_role("link", name="Notifications").click()
    expect(page.get_by_role("heading", name="Your notifications")).to_be_visible()
    expect(page.get_by_role("link", name="Notifications")).to_have_attribute("aria-current", "page")
    # A viewer reads the project's settings but has no save button for them.
    expect(page.get_by_role("button", name="Save alert settings")).to_have_count(0)

    page.get_by_label("How often").select_option("daily")
    page.get_by_label("At (UTC)").select_option("8")
    page.get_by_text("Choose per workflow").click()
    page.get_by_label("Patient sync").select_option("off")
    screenshot(page, "notifications-choices")
    page.get_by_role("button", name="Save my choices").click()

    expect(page.get_by_text("Your notification choices are saved.")).to_be_visible()
    expect(page.get_by_label("How often")).to_have_value("daily")
    expect(page.get_by_label("At (UTC)")).to_have_value("8")
    expect(page.get_by_label("Patient sync")).to_have_value("off")
    expect(page.get_by_label("Stock report")).to_have_value("project")
    expect(page.get_by_label("Email me when a run of this project fails")).to_be_checked()
    screenshot(page, "notifications-saved")

    saved = saved_choices(ids["project"])
    assert saved["digest"] is DigestFrequency.DAILY and saved["hour"] == 8
    assert saved["alerts"] is True
    assert saved["overrides"] == {ids["Patient sync"]: False}

    # The hour is in the member's time zone, set on the profile ("change" beside it).
    page.get_by_role("link", name="change").click()
    page.get_by_role("combobox", name="Time zone").fill("Africa/Nairobi")
    screenshot(page, "notifications-time-zone")
    page.locator("#time-zone").get_by_role("button", name="Save").click()
    expect(page.get_by_text("Time zone set to Africa/Nairobi.")).to_be_visible()
    page.goto(f"/projects/{ids['project']}/settings/notifications")
    expect(page.get_by_label("At (Africa/Nairobi)")).to_have_value("8")


def test_the_owner_sends_a_test_alert_and_reads_it_in_the_alert_log(page: Page):
    ids = clinic("Outreach", "otto.viewer@example.org")
    sign_in(page)
    page.goto(f"/projects/{ids['project']}/settings/notifications")
    page.get_by_label("HTTP channel URL").fill("https://127.0.0.1/hooks/alerts")
    page.get_by_role("button", name="Save alert settings").click()
    expect(page.get_by_text("would be refused").first).to_be_visible()
    screenshot(page, "notifications-admin")
    page.get_by_role("button", name="Send me a test alert").click()
    expect(page.get_by_text("Test alert sent to")).to_be_visible()
    expect(page.get_by_role("link", name="Alert log")).to_have_attribute("aria-current", "page")
    # One row for the mail; the HTTP channel's attempt has a row of its own.
    mail_row = page.locator("tbody tr").filter(has=page.locator(".bi-envelope"))
    expect(mail_row).to_have_count(1)
    expect(mail_row).to_contain_text(DEMO_EMAIL)
    expect(mail_row).to_contain_text("Test")
    expect(page.locator("tbody tr").filter(has_text="127.0.0.1")).to_have_count(1)
    screenshot(page, "notifications-alert-log")
