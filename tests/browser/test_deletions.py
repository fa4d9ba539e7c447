"""Journeys: a deleted project waits on the projects list under "Scheduled for deletion" with
the date its data goes, and its owner brings it back; a deleted user shows "Deletion on
<date>" on the Users page, and a superuser keeps them after all."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.services import accounts, projects
from app.services.deletions import projects as project_deletion
from app.services.deletions import users as user_deletion
from app.services.demo import DEMO_EMAIL
from tests.browser.conftest import screenshot
from tests.browser.studio_helpers import sign_in, with_live_data


def test_scheduled_deletions_are_shown_and_cancelled(page: Page, live_server: str):
    suffix = uuid.uuid4().hex[:6]
    name = f"Old clinic intake {suffix}"
    email = f"lee.leaving.{suffix}@deletions-journey.example.org"

    def deleted_project_and_user():
        admin = db.session.scalar(select(User).where(User.email == DEMO_EMAIL))
        project = projects.create_project(admin, name)
        project_deletion.request_deletion(admin, project.id, name)
        person = accounts.create_user(email, "quiet harbour lamp 58", name="Lee Leaving")
        user_deletion.request_deletion(admin, person.id, email)

    with_live_data(deleted_project_and_user)
    sign_in(page)  # the demo superuser, owner of the deleted project
    page.goto("/")
    section = page.locator("#scheduled-deletions")
    expect(section.get_by_role("heading", name="Scheduled for deletion")).to_be_visible()
    expect(section).to_contain_text(name)
    expect(section).to_contain_text("Its data is removed on")
    screenshot(page, "deletions-1-projects-list")

    page.goto("/admin/users/?q=deletions-journey")
    row = page.locator("#users-table tbody tr", has_text=email)
    expect(row).to_contain_text(re.compile(r"Deletion on \d\d \w{3} \d{4}"))
    screenshot(page, "deletions-2-users-list")
    row.get_by_role("link", name=f"Manage {email}").click()
    expect(page.locator("#pending-deletion")).to_contain_text("cannot sign in")
    screenshot(page, "deletions-2b-user-pending")
    page.go_back()
    row.get_by_role("button", name=f"Cancel deletion of {email}").click()
    expect(page.get_by_text(f"{email} is kept and can sign in again.")).to_be_visible()
    expect(page.locator("main").get_by_text("Active", exact=True)).to_be_visible()
    screenshot(page, "deletions-3-user-kept")

    page.goto("/")
    page.get_by_role("button", name=f"Cancel deletion of {name}").click()
    expect(page.get_by_text(f"Project “{name}” is back")).to_be_visible()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
