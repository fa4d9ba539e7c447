"""The Run limits section of a project's settings in Chromium: an admin types a run time
limit above the server's maximum, reads why it was refused next to the box (what was typed
kept), corrects it, turns off keeping log output and saves; an editor reads the limits with
nothing to change. Screenshots at 1280x800 go to test-artifacts/."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from app.extensions import db
from app.models import ProjectMember, Role, User
from app.services import accounts, projects
from app.services.demo import DEMO_EMAIL
from tests.browser.conftest import ARTIFACTS
from tests.browser.studio_helpers import sign_in, with_live_data

PASSWORD = "limits-journey-password"
ADMIN = "lima.admin@example.org"
EDITOR = "eddie.editor@example.org"


@pytest.fixture(scope="module")
def clinic(live_server: str) -> str:
    """A project with an admin and an editor, made once for this module; returns its id."""

    def change():
        owner = db.session.query(User).filter_by(email=DEMO_EMAIL).one()
        project = projects.create_project(owner, "Private clinic")
        for email, name, role in ((ADMIN, "Lima Admin", Role.ADMIN),
                                  (EDITOR, "Eddie Editor", Role.EDITOR)):  # fmt: skip
            person = accounts.create_user(email, PASSWORD, name=name)
            db.session.add(ProjectMember(project_id=project.id, user_id=person.id, role=role))
        db.session.commit()
        return str(project.id)

    return with_live_data(change)


def section_shot(page: Page, name: str) -> None:
    """A 1280x800 screenshot with the Run limits section in view."""
    page.locator("#limits").scroll_into_view_if_needed()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_an_admin_is_told_the_maximum_then_saves_the_limits(page: Page, clinic: str):
    project_id = clinic
    sign_in(page, ADMIN, PASSWORD)
    page.goto(f"/projects/{project_id}/settings")
    section = page.locator("#limits")
    expect(section.get_by_role("heading", name="Run limits")).to_be_visible()
    section.get_by_label("Run time limit").fill("99999")
    section.get_by_label("Memory per step").fill("256")
    section.get_by_role("button", name="Save run limits").click()
    section = page.locator("#limits")
    error = section.locator("#run_timeout_s-error")
    expect(error).to_have_text(
        "Run time limit can be at most 3,600 seconds on this server "
        "(FERRY_MAX_RUN_TIMEOUT_S); 99,999 is more."
    )
    expect(section.get_by_label("Memory per step")).to_have_value("256")  # kept as typed
    section_shot(page, "project-limits-refused")
    section.get_by_label("Run time limit").fill("120")
    section.get_by_label("Do not keep print/log output").check()
    section.get_by_role("button", name="Save run limits").click()
    expect(page.get_by_text("Run limits saved.")).to_be_visible()
    section = page.locator("#limits")
    expect(section.get_by_label("Run time limit")).to_have_value("120")
    expect(section.get_by_label("Do not keep print/log output")).to_be_checked()
    section_shot(page, "project-limits-saved")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "project-limits-page-top.png"))  # the flash, in view


def test_an_editor_reads_the_limits_with_nothing_to_change(page: Page, clinic: str):
    project_id = clinic
    sign_in(page, EDITOR, PASSWORD)
    page.goto(f"/projects/{project_id}/settings")
    section = page.locator("#limits")
    expect(section.get_by_label("Run time limit")).to_be_disabled()
    expect(section.get_by_role("button", name="Save run limits")).to_have_count(0)
    help_text = "Empty: the server's default, 300 seconds. At most 3,600 seconds."
    expect(section).to_contain_text(help_text)
