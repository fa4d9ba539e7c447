"""The projects list, creating a project, and who may open which project."""

from __future__ import annotations

from app.models import ProjectMember, Role
from tests import factories
from tests.support import log_in, post_form


def test_empty_list_invites_to_create_a_project(signed_in):
    html = signed_in.get("/").get_data(as_text=True)
    assert "No projects yet" in html
    assert "Create project" in html


def test_list_shows_only_the_users_projects(signed_in, user, db):
    mine = factories.project(user, "Child protection sync")
    stranger = factories.user()
    factories.project(stranger, "Someone else's project")
    html = signed_in.get("/").get_data(as_text=True)
    assert mine.name in html
    assert "Someone else" not in html


def test_superuser_sees_every_project(client, db):
    admin = factories.user(superuser=True)
    other = factories.user()
    factories.project(other, "Farmers savings")
    log_in(client, admin.email, factories.PASSWORD)
    assert "Farmers savings" in client.get("/").get_data(as_text=True)


def test_creating_a_project_makes_the_creator_its_owner(signed_in, user, db):
    response = post_form(
        signed_in,
        "/projects/new",
        "/projects",
        {"name": "  Malaria   reporting ", "description": "DHIS2"},
    )
    assert response.status_code == 302
    page = signed_in.get(response.headers["Location"])
    html = page.get_data(as_text=True)
    assert "Malaria reporting" in html
    assert "your role: owner" in html
    membership = db.session.query(ProjectMember).filter_by(user_id=user.id).one()
    assert membership.role is Role.OWNER


def test_a_project_needs_a_name(signed_in):
    response = post_form(signed_in, "/projects/new", "/projects", {"name": "   "})
    assert response.status_code == 422
    assert "Give the project a name." in response.get_data(as_text=True)


def test_outsiders_get_404_for_a_project(signed_in, db):
    other = factories.user()
    project = factories.project(other)
    assert signed_in.get(f"/projects/{project.id}").status_code == 404


def test_members_of_any_role_can_open_the_project(signed_in, user, db):
    other = factories.user()
    project = factories.project(other, "Shared project")
    factories.member(project, user, Role.VIEWER)
    page = signed_in.get(f"/projects/{project.id}")
    assert page.status_code == 200
    assert "your role: viewer" in page.get_data(as_text=True)


def test_unknown_project_is_404(signed_in):
    assert signed_in.get("/projects/00000000-0000-0000-0000-000000000000").status_code == 404


def test_overview_of_an_empty_project_invites_editors_to_create_a_workflow(signed_in, user, db):
    mine = factories.project(user, "Fresh project")
    html = signed_in.get(f"/projects/{mine.id}").get_data(as_text=True)
    assert "No workflows yet" in html
    assert f'href="/projects/{mine.id}/workflows/new"' in html
    viewer_of = factories.project(factories.user(), "Someone's project")
    factories.member(viewer_of, user, Role.VIEWER)
    html = signed_in.get(f"/projects/{viewer_of.id}").get_data(as_text=True)
    assert "No workflows yet" in html
    assert "/workflows/new" not in html
    assert "an editor of this project can create one" in html


def test_overview_lists_workflows_with_trigger_switch_and_last_run(signed_in, user, db):
    from app.services.workflows import store
    from tests import history_factories as hf

    mine = factories.project(user, "Busy project")
    flow = store.get_workflow(factories.workflow(mine, name="Patient sync").id)
    hf.work_order(flow, state="success", received=hf.at(days_ago=2))
    hf.work_order(flow, state="crashed", received=hf.at(minutes_ago=10))
    idle = factories.workflow(mine, "name: Never started")
    html = signed_in.get(f"/projects/{mine.id}").get_data(as_text=True)
    table = html[html.index('id="overview-workflows"') : html.index("</table>")]
    assert "No workflows yet" not in html
    assert f'href="/projects/{mine.id}/workflows/{flow.id}">Patient sync</a>' in table
    assert f'href="/projects/{mine.id}/workflows/{idle.id}">Never started</a>' in table
    rows = table.split("<tr>")[2:]  # after the header row; ordered by name
    idle_row, sync_row = rows
    assert "Never started" in idle_row and "Patient sync" in sync_row
    assert "webhook" in sync_row and "On" in sync_row
    assert 'data-state="crashed"' in sync_row and 'data-state="success"' not in sync_row
    assert f"/projects/{mine.id}/history?workflow={flow.id}" in sync_row
    assert "manual only" in idle_row and "never run" in idle_row
    # Where to go next: the project's other areas.
    for area in ("history", "dashboard", "credentials"):
        assert f'href="/projects/{mine.id}/{area}"' in html
