"""The egress journey of issue 13: an analyst building a request to an internal system
(a real HTTP server on loopback standing in for it) is warned in the request builder and the
step panel that the address is not allowed, and the run is refused; an admin allows the
address on the project's settings page; the same run then succeeds through the live server's
worker."""

from __future__ import annotations

from playwright.sync_api import Browser, Page, expect

from app.extensions import db
from app.models import ProjectMember, Role, User
from app.services import accounts, projects
from app.services.demo import DEMO_EMAIL
from app.services.workflows import store
from tests.browser.conftest import screenshot
from tests.browser.servers_studio import RecordingServer
from tests.browser.studio_helpers import click_node, node_state, sign_in, with_live_data

PASSWORD = "egress-journey-password"
ANALYST = "ana.analyst@example.org"
ADMIN = "adam.admin@example.org"
WORKFLOW = """
name: Registry sync
triggers:
  webhook:
    type: webhook
    enabled: true
jobs:
  send:
    name: Send to registry
    adaptor: http@1
    body: |
      fn(lambda state: state)
edges:
  webhook->send:
    source_trigger: webhook
    target_job: send
    condition_type: always
"""


def field_office() -> dict[str, str]:
    """A project with an analyst (editor), an admin and a workflow with one http step."""

    def change():
        owner = db.session.query(User).filter_by(email=DEMO_EMAIL).one()
        project = projects.create_project(owner, "Field office")
        for email, name, role in ((ANALYST, "Ana Analyst", Role.EDITOR),
                                  (ADMIN, "Adam Admin", Role.ADMIN)):  # fmt: skip
            person = accounts.create_user(email, PASSWORD, name=name)
            db.session.add(ProjectMember(project_id=project.id, user_id=person.id, role=role))
        db.session.commit()
        workflow = store.create_workflow(project.id, WORKFLOW)
        return {"project": str(project.id), "workflow": str(workflow.id)}

    return with_live_data(change)


def build_the_request(page: Page, url: str) -> None:
    """Open the http step's request builder on post() and type the internal URL."""
    click_node(page, "job:send")
    expect(page.locator("#rb-operation option[value=post]")).to_have_count(1)
    page.locator("#rb-operation").select_option("post")
    page.get_by_role("button", name="Open form").click()
    form = page.locator("#rb-op-form")
    form.get_by_label("Path or URL", exact=True).fill(url)
    body = form.locator("[data-param=body]")
    body.get_by_label("Body name").first.fill("name")
    body.get_by_label("Body value").first.fill("Ada")


def test_an_analyst_is_warned_an_admin_allows_the_address_and_the_run_succeeds(
    page: Page, browser: Browser, live_server: str
):
    ids = field_office()
    with RecordingServer() as internal:
        address = internal.url.removeprefix("http://")  # 127.0.0.1:PORT
        sign_in(page, ANALYST, PASSWORD)
        page.goto(f"/projects/{ids['project']}/workflows/{ids['workflow']}")
        build_the_request(page, f"{internal.url}/records")

        # Warned while typing, with the reason and whom to ask (an editor cannot change it).
        warning = page.locator("#rb-egress")
        expect(warning).to_contain_text("This address is not allowed in this project")
        expect(warning).to_contain_text(f"{address} in this form: a loopback address")
        expect(warning).to_contain_text(f"ask a project admin to add {address}")
        expect(warning.get_by_role("link")).to_have_count(0)
        page.locator("#rb-op-form").scroll_into_view_if_needed()
        screenshot(page, "egress-1-request-builder-warning")

        page.locator("#rb-op-form").get_by_role("button", name="Insert into body").click()
        expect(page.locator("#step-body-editor")).to_contain_text(
            f'post("{internal.url}/records", body={{"name": "Ada"}})'
        )
        step_warning = page.locator("#step-egress")
        expect(step_warning).to_contain_text(f"ask a project admin to add {address}")
        step_warning.scroll_into_view_if_needed()
        screenshot(page, "egress-2-step-panel-warning")

        # Run anyway: the worker refuses the connection, saying the same.
        page.get_by_role("button", name="Run", exact=True).click()
        expect(page.get_by_text("Saved as version 2.")).to_be_visible()
        status = page.locator("#run-status")
        expect(status).to_have_attribute("data-run-state", "failed", timeout=30_000)
        click_node(page, "job:send")
        expect(page.locator("#step-tab")).to_contain_text(f"connecting to {address}")
        expect(page.locator("#step-tab")).to_contain_text("egress allowlist")
        assert internal.received == []
        screenshot(page, "egress-3-run-refused")

        # An admin allows exactly this address and port on the settings page.
        admin_context = browser.new_context(
            base_url=live_server, viewport={"width": 1280, "height": 800}
        )
        admin = admin_context.new_page()
        sign_in(admin, ADMIN, PASSWORD)
        admin.get_by_role("link", name="Field office").click()
        admin.get_by_role("navigation", name="Project").get_by_role("link", name="Settings").click()
        expect(admin.get_by_role("heading", name="Settings", exact=True)).to_be_visible()
        admin.get_by_text("Why are internal addresses refused?").click()
        expect(admin.get_by_text("the cloud metadata service at 169.254.169.254")).to_be_visible()
        admin.get_by_label("Internal systems steps may reach").fill(address)
        screenshot(admin, "egress-4-settings-before-saving")
        admin.get_by_role("button", name="Save allowlist").click()
        expect(admin.get_by_text("Egress allowlist saved")).to_be_visible()
        expect(admin.get_by_label("Internal systems steps may reach")).to_have_value(address)
        screenshot(admin, "egress-5-settings-saved")
        admin_context.close()

        # Back in the builder: the warning is gone, and the same run succeeds.
        click_node(page, "job:send")
        expect(page.locator("#step-egress [data-egress-warning]")).to_have_count(0)
        page.get_by_role("button", name="Run", exact=True).click()
        expect(status).to_have_attribute("data-run-state", "success", timeout=30_000)
        assert node_state(page, "job:send") == "success"
        assert internal.received == [{"path": "/records", "body": {"name": "Ada"}}]
        screenshot(page, "egress-6-run-succeeded")

        # The analyst reads the setting but cannot change it.
        page.get_by_role("navigation", name="Project").get_by_role("link", name="Settings").click()
        expect(page.get_by_text("You can read these settings.")).to_be_visible()
        allowlist = page.get_by_label("Internal systems steps may reach")
        expect(allowlist).to_have_value(address)
        expect(allowlist).to_be_disabled()
        expect(page.get_by_role("button", name="Save allowlist")).to_have_count(0)
        screenshot(page, "egress-7-settings-read-only-for-editors")
