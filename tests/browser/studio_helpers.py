"""Helpers for the Studio journeys: canvas positions, dragging, and setting up the live
server's data (members, the egress allowlist) through Ferry's own services."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from app import create_app
from app.config import Settings
from app.extensions import db
from app.models import Project, ProjectMember, Role
from app.services import accounts
from app.services.demo import DEMO_EMAIL, DEMO_PASSWORD
from tests.support import browser_redis_url, database_url

# The session cookies of a sign-in through the form, per person (one live server per test
# process): most journeys begin by signing in, and the form (two pages and an argon2 check on
# the server) costs about a second a time. test_sign_in.py tests the form itself.
_signed_in: dict[tuple[str, str], list] = {}


def sign_in(page: Page, email: str = DEMO_EMAIL, password: str = DEMO_PASSWORD) -> None:
    """Sign in and land on the projects page: with the cookies of an earlier sign-in of the
    same person while that session is still good, otherwise through the login form."""
    key = (email, password)
    kept = _signed_in.get(key)
    if kept:
        page.context.add_cookies(kept)
        page.goto("/")
        if page.get_by_role("heading", name="Projects").is_visible():
            return
        page.context.clear_cookies()  # signed out meanwhile: use the form
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()
    # The heading shows before the deferred scripts have run: a click on a menu right
    # away would reach a dropdown Bootstrap does not handle yet.
    page.wait_for_load_state("load")
    _signed_in[key] = page.context.cookies()


def with_live_data(change) -> object:
    """Run `change()` in an app context on the live server's database and commit."""
    settings = Settings(
        env="test", database_url=database_url("browser"), redis_url=browser_redis_url()
    )
    app = create_app(settings)
    with app.app_context():
        result = change()
        db.session.commit()
        db.engine.dispose()
        return result


def allow_loopback(project_name: str = "Demo project") -> None:
    """Let the project's steps reach servers on 127.0.0.1 (the test's HTTP target)."""

    def change():
        project = db.session.query(Project).filter_by(name=project_name).one()
        project.egress_allowlist = ["127.0.0.1"]

    with_live_data(change)


def add_member(email: str, password: str, role: Role, project_name: str = "Demo project") -> None:
    """Create a user and make them a member of the project with `role`."""

    def change():
        user = accounts.create_user(email, password, name="Vera Viewer")
        project = db.session.query(Project).filter_by(name=project_name).one()
        db.session.add(ProjectMember(project_id=project.id, user_id=user.id, role=role))

    with_live_data(change)


def node_point(page: Page, node_id: str) -> dict:
    """Where a canvas node is on the screen."""
    return page.evaluate("id => window.ferryStudio.graph.screenPosition(id)", node_id)


def click_node(page: Page, node_id: str) -> None:
    """Click a node on the canvas, as a person would."""
    point = node_point(page, node_id)
    page.mouse.click(point["x"], point["y"])


def click_empty_canvas(page: Page) -> None:
    """Click an empty spot of the canvas (clears the selection)."""
    box = page.locator("#studio-canvas").bounding_box()
    page.mouse.click(box["x"] + 30, box["y"] + 30)


def drag_connect(page: Page, source_id: str, target_id: str) -> None:
    """Hover the source node, grab its connect handle and drop it on the target node."""
    source = node_point(page, source_id)
    target = node_point(page, target_id)
    canvas = page.locator("#studio-canvas").bounding_box()
    page.mouse.move(canvas["x"] + 5, canvas["y"] + 5)  # come onto the node from outside
    page.mouse.move(source["x"], source["y"], steps=4)
    handle = page.locator("#studio-handle")
    expect(handle).to_be_visible()
    box = handle.bounding_box()
    start = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.move(*start)
    page.mouse.down()
    for i in range(1, 13):
        page.mouse.move(
            start[0] + (target["x"] - start[0]) * i / 12,
            start[1] + (target["y"] - start[1]) * i / 12,
        )
        page.wait_for_timeout(25)
    page.wait_for_timeout(150)
    page.mouse.up()


def type_in_editor(page: Page, selector: str, text: str) -> None:
    """Replace an ace editor's text as if pasted (no auto-closed brackets)."""
    page.locator(f"{selector} .ace_content").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)


def node_state(page: Page, node_id: str) -> str:
    """The run state painted on a node ('' when none)."""
    return page.evaluate(
        "id => window.ferryStudio.graph.cy.getElementById(id).data('state') || ''", node_id
    )


def node_border(page: Page, node_id: str) -> str:
    """The border colour the canvas draws a node with, as rgb(r,g,b)."""
    colour = page.evaluate(
        "id => window.ferryStudio.graph.cy.getElementById(id).style('border-color')", node_id
    )
    return colour.replace(" ", "")


def badge_colour(page: Page, state: str) -> str:
    """The colour of a state's badge on the page (Bootstrap's CSS), as rgb(r,g,b)."""
    colour = page.evaluate(
        """state => {
            // A fresh badge with the macro's classes, shown, so its colour is Bootstrap's.
            const known = document.querySelector(`[data-state-palette] [data-state="${state}"]`);
            const badge = document.createElement('span');
            badge.className = known.className;
            document.body.append(badge);
            const colour = getComputedStyle(badge).backgroundColor;
            badge.remove();
            return colour;
        }""",
        state,
    )
    return colour.replace(" ", "")
