"""Zero persistence in Chromium: an admin reads what it turns off before turning it on, cannot
submit without ticking "I understand", then turns it on; a run page of such a project says
"Not stored" where the input and outputs would be and offers no download. Screenshots at
1280x800 go to test-artifacts/."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update

from app.extensions import db
from app.models import Dataclip, Run, User
from app.services import projects
from app.services.demo import DEMO_EMAIL
from tests import history_factories as made
from tests.browser.conftest import ARTIFACTS
from tests.browser.studio_helpers import sign_in, with_live_data


@pytest.fixture(scope="module")
def intake(live_server: str) -> dict:
    """A project the demo user owns, with one finished run whose bodies were never stored."""

    def change():
        owner = db.session.query(User).filter_by(email=DEMO_EMAIL).one()
        project = projects.create_project(owner, "Confidential intake")
        order = made.work_order(made.workflow(project, "Patient intake"), state="success")
        run = db.session.query(Run).filter_by(work_order_id=order.id).one()
        db.session.execute(
            update(Dataclip)
            .where(Dataclip.project_id == project.id)
            .values(not_stored=True, body=None, raw_body=None, request=None)
        )
        db.session.commit()
        return {"project": str(project.id), "run": str(run.id)}

    return with_live_data(change)


def test_an_admin_reads_the_consequences_then_turns_it_on(page: Page, intake: dict):
    sign_in(page)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"/projects/{intake['project']}/settings/data")
    card = page.locator("#zero-persistence")
    card.scroll_into_view_if_needed()
    expect(card.get_by_text("Before you turn it on, know what it turns off:")).to_be_visible()
    expect(
        card.get_by_text("Print and log output of steps is dropped", exact=False)
    ).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "zero-persistence-consequences.png"))
    card.get_by_role("button", name="Turn zero persistence on").click()
    expect(card.get_by_text("Off", exact=True)).to_be_visible()  # not ticked: not sent
    card.get_by_label("I understand", exact=False).check()
    card.get_by_role("button", name="Turn zero persistence on").click()
    expect(page.get_by_text("Zero persistence is on", exact=False)).to_be_visible()
    expect(page.locator("#zero-persistence [data-ferry-zp-state]")).to_have_text("On")
    page.locator("#zero-persistence").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "zero-persistence-on.png"))


def test_a_run_page_says_not_stored_and_offers_no_download(page: Page, intake: dict):
    sign_in(page)
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"/projects/{intake['project']}/runs/{intake['run']}")
    notice = page.locator("[data-ferry-not-stored]").first
    expect(notice).to_contain_text(
        "Not stored: this project keeps no inputs or outputs (zero persistence)."
    )
    expect(page.get_by_text("Download the whole body")).to_have_count(0)
    expect(page.get_by_role("button", name="Retry from this step")).to_be_disabled()
    page.screenshot(path=str(ARTIFACTS / "zero-persistence-run-page.png"))
