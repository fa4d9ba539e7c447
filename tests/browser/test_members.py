"""Journey: an admin invites a colleague by email (the mail goes through a real SMTP server),
the colleague sets a password from the link, is a viewer who cannot save a workflow, is made
editor and can; then the owner hands the project over."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from app.extensions import db
from app.models import Role
from app.services import accounts, projects
from tests import factories
from tests.browser.conftest import Inbox, screenshot
from tests.browser.studio_helpers import click_node, sign_in, with_live_data

OWNER = ("olu@members.example.org", "owner river lantern 81")
ADMIN = ("ada@members.example.org", "admin cobalt meadow 64")
COLLEAGUE = "colleague@members.example.org"
COLLEAGUE_PASSWORD = "harbour violet pencil 27"
PROJECT = "Members journey"


def _set_up() -> tuple[str, str]:
    """The project (owned by Olu, Ada its admin) with one workflow; their ids as strings."""
    owner = accounts.create_user(*OWNER, name="Olu Owner")
    admin = accounts.create_user(*ADMIN, name="Ada Admin")
    project = projects.create_project(owner, PROJECT)
    factories.member(project, admin, Role.ADMIN)
    workflow = factories.workflow(project, name="Weekly cases")
    db.session.commit()
    return str(project.id), str(workflow.id)


def _forged_save(page: Page) -> int:
    """What the server answers to a save sent without the (hidden) Save button."""
    return page.evaluate(
        """async () => {
            const data = JSON.parse(document.getElementById('studio-data').textContent);
            const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
            const save = await fetch(data.urls.save, {method: 'POST', headers: {
                'Content-Type': 'application/json', 'X-CSRFToken': token},
                body: JSON.stringify({document: data.document, positions: {}, lock_version: 1})});
            return save.status;
        }"""
    )


def test_invite_accept_roles_and_hand_over(
    page: Page, browser: Browser, live_server: str, smtp_inbox: Inbox
):
    project_id, workflow_id = with_live_data(_set_up)
    members_url = f"/projects/{project_id}/settings/members"
    builder_url = f"/projects/{project_id}/workflows/{workflow_id}"

    # The admin invites a colleague who has no account yet.
    sign_in(page, *ADMIN)
    page.goto(members_url)
    expect(page.locator("[data-role]")).to_contain_text("your role: admin")
    page.get_by_label("Email").fill(COLLEAGUE)
    page.get_by_label("Role", exact=True).select_option("viewer")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_text(f"Invitation sent to {COLLEAGUE}")).to_be_visible()
    expect(page.get_by_role("table").nth(1)).to_contain_text(COLLEAGUE)
    screenshot(page, "members-1-invitation-sent")

    # The mail reaches the SMTP server; its link opens the invitation page.
    mail = smtp_inbox.wait_for(COLLEAGUE)
    assert PROJECT in mail["Subject"]
    link = re.search(r"https?://\S+/invitations/\S+", mail.get_content()).group(0)
    assert link.startswith(live_server)
    colleague_context = browser.new_context(
        base_url=live_server, viewport={"width": 1280, "height": 800}
    )
    colleague = colleague_context.new_page()
    colleague.goto(link)
    expect(colleague.get_by_role("heading", name=f"Join “{PROJECT}”")).to_be_visible()
    expect(colleague.get_by_text("Ada Admin")).to_be_visible()
    screenshot(colleague, "members-2-invitation-page")
    colleague.get_by_label("Your name").fill("Chidi Colleague")
    colleague.get_by_label("Password", exact=True).fill(COLLEAGUE_PASSWORD)
    colleague.get_by_label("Password again").fill("not the same password")
    colleague.get_by_role("button", name="Create account and join").click()
    expect(colleague.get_by_text("The two passwords are not the same.")).to_be_visible()
    colleague.get_by_label("Password", exact=True).fill(COLLEAGUE_PASSWORD)
    colleague.get_by_label("Password again").fill(COLLEAGUE_PASSWORD)
    colleague.get_by_role("button", name="Create account and join").click()
    expect(colleague.get_by_text(f"Welcome to “{PROJECT}”. You joined as viewer.")).to_be_visible()
    expect(colleague.locator("[data-role]")).to_contain_text("your role: viewer")

    # As a viewer: no Save button, and a forged save is refused.
    colleague.goto(builder_url)
    expect(colleague.get_by_text("Read-only: your role is viewer")).to_be_visible()
    expect(colleague.get_by_role("button", name="Save")).to_have_count(0)
    assert _forged_save(colleague) == 403

    # The admin makes the colleague an editor; it applies on the colleague's next page.
    page.reload()
    row = page.get_by_role("row").filter(has_text=COLLEAGUE)
    row.get_by_label("Role of Chidi Colleague").select_option("editor")
    row.get_by_role("button", name="Change").click()
    expect(page.get_by_text("Chidi Colleague is now editor.")).to_be_visible()
    colleague.goto(builder_url)
    expect(colleague.locator("[data-role]")).to_contain_text("your role: editor")
    click_node(colleague, "job:first")
    colleague.get_by_label("Name", exact=True).fill("First step, checked")
    colleague.get_by_role("button", name="Save", exact=True).click()
    expect(colleague.get_by_text("Saved as version 2.")).to_be_visible()
    colleague_context.close()

    # The owner hands the project to the admin and stays on as admin.
    page.context.clear_cookies()
    sign_in(page, *OWNER)
    page.goto(members_url)
    expect(page.locator("[data-role]")).to_contain_text("your role: owner")
    screenshot(page, "members-3-owner-view")
    admin_row = page.get_by_role("row").filter(has_text=ADMIN[0])
    admin_row.get_by_role("button", name="Actions").click()
    admin_row.get_by_role("link", name="Make owner").click()
    expect(
        page.get_by_role("heading", name=f"Make Ada Admin the owner of “{PROJECT}”?")
    ).to_be_visible()
    page.get_by_role("button", name="Hand over ownership").click()
    expect(
        page.get_by_text(f"Ada Admin now owns “{PROJECT}”. You stay on as admin.")
    ).to_be_visible()
    expect(page.locator("[data-role]")).to_contain_text("your role: admin")
    expect(page.get_by_role("link", name="Make owner")).to_have_count(0)
    screenshot(page, "members-4-after-hand-over")
