"""Every project page shows members their role and only the actions it allows: viewers see
no Save, Run, Retry, Rerun, Create, Import, Delete or Enable; the server refuses them too."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import Role, Run
from tests import factories, history_factories
from tests.support import log_in

# What each change control looks like in the markup, by page.
CONTROLS = {
    "overview": ["Create workflow"],
    "workflows": ["Create workflow", "/enabled", "/delete", "/rename"],
    "builder": ['data-action="save"', 'id="run-button"'],
    "history": ["data-ferry-select-page", "Rerun…"],
    "run": ["/retry"],
    "credentials": [],
    "dashboard": [],
}


@pytest.fixture
def pages(db, user, project):
    """The URL of every project page, with a failed run and a shared credential to show."""
    flow = history_factories.workflow(project, "Patient sync")
    work_order = history_factories.work_order(flow, state="failed")
    run = db.session.scalar(select(Run).where(Run.work_order_id == work_order.id))
    factories.shared_dhis2_credential(user, project, "pw-not-shown")
    base = f"/projects/{project.id}"
    return {
        "overview": base,
        "workflows": f"{base}/workflows",
        "builder": f"{base}/workflows/{flow.id}",
        "history": f"{base}/history",
        "run": f"{base}/runs/{run.id}",
        "credentials": f"{base}/credentials",
        "dashboard": f"{base}/dashboard",
    }


def signed_in_as(app, project, role: Role):
    person = factories.user()
    factories.member(project, person, role)
    client = app.test_client()
    assert log_in(client, person.email, factories.PASSWORD).status_code == 302
    return client


@pytest.mark.parametrize("name", sorted(CONTROLS))
def test_viewers_see_their_role_and_no_change_controls(app, db, project, pages, name):
    viewer = signed_in_as(app, project, Role.VIEWER)
    response = viewer.get(pages[name])
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-role="viewer"' in page and "your role: viewer" in page
    for control in CONTROLS[name]:
        assert control not in page, f"{name} shows {control!r} to a viewer"


@pytest.mark.parametrize("name", sorted(CONTROLS))
def test_editors_see_the_controls_their_role_allows(app, db, project, pages, name):
    editor = signed_in_as(app, project, Role.EDITOR)
    page = editor.get(pages[name]).get_data(as_text=True)
    assert "your role: editor" in page
    for control in CONTROLS[name]:
        assert control in page, f"{name} hides {control!r} from an editor"


def test_viewers_are_refused_by_the_server_too(app, db, project, pages):
    viewer = signed_in_as(app, project, Role.VIEWER)
    builder = viewer.get(pages["builder"]).get_data(as_text=True)
    token = builder.split('"X-CSRFToken": "', 1)[1].split('"', 1)[0]
    headers = {"X-CSRFToken": token}
    workflow_url = pages["builder"]
    run_url = pages["run"]
    refused = {
        "save": viewer.post(f"{workflow_url}/save", json={}, headers=headers),
        "run": viewer.post(f"{workflow_url}/runs", data={"source": "empty"}, headers=headers),
        "retry": viewer.post(f"{run_url}/retry", data={}, headers=headers),
        "delete": viewer.post(f"{workflow_url}/delete", data={}, headers=headers),
        "enable": viewer.post(f"{workflow_url}/enabled", data={}, headers=headers),
        "create": viewer.post(f"{pages['workflows']}", data={"name": "x"}, headers=headers),
        "import": viewer.post(f"{pages['workflows']}/import", data={}, headers=headers),
        "bulk rerun": viewer.post(f"{pages['history']}/bulk", data={}, headers=headers),
    }
    assert {name: r.status_code for name, r in refused.items()} == dict.fromkeys(refused, 403)


def test_the_credentials_page_offers_creating_one_only_to_editors(app, db, user):
    empty = factories.project(user, "Nothing shared")
    url = f"/projects/{empty.id}/credentials"
    viewer = signed_in_as(app, empty, Role.VIEWER)
    page = viewer.get(url).get_data(as_text=True)
    assert "Create credential" not in page and "editor" in page
    editor = signed_in_as(app, empty, Role.EDITOR)
    assert "Create credential" in editor.get(url).get_data(as_text=True)
