"""The builder's version history pages: the History panel, a version read-only, a comparison,
restoring, and the builder's save carrying a message; crafted input is answered 4xx."""

from __future__ import annotations

import json

import pytest

from app.extensions import db
from app.models import Role, WorkflowSnapshot
from app.services.studio import canvas as studio
from app.services.workflows import export, store
from tests import factories
from tests import history_factories as hf
from tests.support import csrf_token_from, log_in


def as_member(client, project, role: Role):
    person = factories.user()
    factories.member(project, person, role)
    log_in(client, person.email, factories.PASSWORD)
    return person


def html_of(response, status: int = 200) -> str:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def _change_body(flow, body: str, user, message=None):
    document = export.export_document(store.get_workflow(flow.id))
    document["jobs"]["fetch"]["body"] = body
    current = store.get_workflow(flow.id).lock_version
    return studio.save_canvas(
        flow.id, flow.project_id, document, {}, current, user.id, message=message
    )


def base(flow) -> str:
    return f"/projects/{flow.project_id}/workflows/{flow.id}"


def test_the_builder_save_keeps_the_message_typed_with_it(signed_in, flow):
    page = html_of(signed_in.get(base(flow)))
    assert 'id="studio-save-note"' in page and 'id="tab-history"' in page
    document = export.export_document(store.get_workflow(flow.id))
    reply = signed_in.post(
        f"{base(flow)}/save",
        data=json.dumps({"document": document, "lock_version": 1, "message": "First fix"}),
        content_type="application/json",
        headers={"X-CSRFToken": csrf_token_from(page)},
    )
    assert reply.status_code == 200, reply.get_data(as_text=True)
    snapshot = db.session.query(WorkflowSnapshot).filter_by(workflow_id=flow.id, lock_version=2)
    assert snapshot.one().message == "First fix"


def test_a_message_with_a_nul_is_refused_naming_the_field(signed_in, flow):
    page = html_of(signed_in.get(base(flow)))
    document = export.export_document(store.get_workflow(flow.id))
    reply = signed_in.post(
        f"{base(flow)}/save",
        data=json.dumps({"document": document, "lock_version": 1, "message": "a\u0000b"}),
        content_type="application/json",
        headers={"X-CSRFToken": csrf_token_from(page)},
    )
    # The JSON reader refuses a NUL anywhere in the body before the save looks at it.
    assert reply.status_code == 400
    assert "NUL" in reply.get_json()["error"]
    assert store.get_workflow(flow.id).lock_version == 1


def test_the_history_panel_lists_versions_with_author_message_and_restores(signed_in, flow, user):
    _change_body(flow, "log('two')", user, message="Say two")
    html = html_of(signed_in.get(f"{base(flow)}/versions"))
    assert html.index('data-version="2"') < html.index('data-version="1"')
    assert "Say two" in html and user.display_name in html and "Ferry" in html
    assert "current" in html
    assert f"{base(flow)}/versions/2/compare" in html


def test_the_history_panel_pages_with_a_cursor_and_refuses_a_crafted_one(signed_in, flow):
    html = html_of(signed_in.get(f"{base(flow)}/versions?before=2"))
    assert 'data-version="1"' in html and 'id="versions-list"' not in html
    for cursor in ("abc", "-3", "0", "1e9", "99999999999999", "%00"):
        response = signed_in.get(f"{base(flow)}/versions?before={cursor}")
        assert response.status_code in (400, 422), cursor


def test_a_version_opens_read_only_with_its_banner(signed_in, flow, user):
    _change_body(flow, "log('two')", user)
    html = html_of(signed_in.get(f"{base(flow)}/versions/1"))
    assert "Version 1 of 2, read-only" in html
    assert "Back to the current version" in html and "Compare with current" in html
    assert "Restore version 1" in html
    data = json.loads(html.split('id="version-data">', 1)[1].split("</script>", 1)[0])
    assert data["document"]["jobs"]["fetch"]["body"].startswith("fn(lambda state: state)")


def test_a_comparison_lists_the_body_diff_and_marks_the_step(signed_in, flow, user):
    _change_body(flow, "log('two')\n", user)
    html = html_of(signed_in.get(f"{base(flow)}/versions/2/compare"))
    assert f'Changes from <a href="{base(flow)}/versions/1"' in html
    assert 'data-change-path="jobs.fetch.body"' in html
    assert "+log(&#39;two&#39;)" in html
    data = json.loads(html.split('id="version-data">', 1)[1].split("</script>", 1)[0])
    assert data["marks"] == {"job:fetch": "changed"}


@pytest.mark.parametrize("path", ["/versions/0", "/versions/9", "/versions/99999999999999"])
def test_a_version_that_does_not_exist_is_404(signed_in, flow, path):
    assert signed_in.get(f"{base(flow)}{path}").status_code == 404


@pytest.mark.parametrize("other", ["abc", "-1", "", "99999999999999"])
def test_a_crafted_version_to_compare_with_is_4xx(signed_in, flow, other):
    response = signed_in.get(f"{base(flow)}/versions/1/compare?with={other}")
    assert response.status_code in (404, 422)


def test_a_version_of_another_projects_workflow_is_404(signed_in, user, flow):
    other = factories.project(user, "Another clinic")
    for path in ("/versions/1", "/versions/1/compare", "/versions"):
        url = f"/projects/{other.id}/workflows/{flow.id}{path}"
        assert signed_in.get(url).status_code == 404


def test_viewers_browse_and_compare_but_cannot_restore(client, project, flow, user):
    _change_body(flow, "log('two')", user)
    as_member(client, project, Role.VIEWER)
    builder = html_of(client.get(base(flow)))
    assert 'id="tab-history"' in builder and 'id="studio-save-note"' not in builder
    assert "Restore" not in html_of(client.get(f"{base(flow)}/versions"))
    html = html_of(client.get(f"{base(flow)}/versions/1"))
    assert "Restore version" not in html
    html_of(client.get(f"{base(flow)}/versions/2/compare"))
    response = client.post(
        f"{base(flow)}/versions/1/restore",
        data={"lock_version": "2", "csrf_token": csrf_token_from(html)},
    )
    assert response.status_code == 403
    assert store.get_workflow(flow.id).lock_version == 2


def test_restore_makes_a_new_version_and_returns_to_the_builder(signed_in, flow, user):
    _change_body(flow, "log('two')", user)
    html = html_of(signed_in.get(f"{base(flow)}/versions/1"))
    response = signed_in.post(
        f"{base(flow)}/versions/1/restore",
        data={"lock_version": "2", "csrf_token": csrf_token_from(html)},
    )
    assert response.status_code == 302 and response.location.endswith(base(flow))
    restored = store.get_workflow(flow.id)
    assert restored.lock_version == 3
    assert restored.steps and all("two" not in s.body for s in restored.steps)
    builder = html_of(signed_in.get(base(flow)))
    assert "Restored version 1 as version 3." in builder


def test_restore_is_refused_when_someone_saved_meanwhile(signed_in, flow, user):
    _change_body(flow, "log('two')", user)
    html = html_of(signed_in.get(f"{base(flow)}/versions/1"))
    _change_body(flow, "log('three')", user)  # someone else, after the page was opened
    response = signed_in.post(
        f"{base(flow)}/versions/1/restore",
        data={"lock_version": "2", "csrf_token": csrf_token_from(html)},
    )
    page = html_of(response, 409)
    assert "Someone else saved this workflow" in page
    assert store.get_workflow(flow.id).lock_version == 3


@pytest.mark.parametrize("lock", ["", "abc", "-1", "99999999999999"])
def test_restore_with_a_crafted_lock_version_is_422(signed_in, flow, user, lock):
    _change_body(flow, "log('two')", user)
    html = html_of(signed_in.get(f"{base(flow)}/versions/1"))
    response = signed_in.post(
        f"{base(flow)}/versions/1/restore",
        data={"lock_version": lock, "csrf_token": csrf_token_from(html)},
    )
    assert response.status_code == 422
    assert store.get_workflow(flow.id).lock_version == 2


def test_the_run_page_links_to_the_version_that_ran(signed_in, flow):
    order = hf.work_order(flow, state="success")
    run_id = db.session.execute(
        db.text("select id from runs where work_order_id = :id"), {"id": order.id}
    ).scalar()
    html = html_of(signed_in.get(f"/projects/{flow.project_id}/runs/{run_id}"))
    assert f'href="{base(flow)}/versions/1"' in html


def test_the_api_keeps_a_message_with_the_version_it_saves(api, flow):
    document = export.export_document(store.get_workflow(flow.id))
    reply = api.put(f"/workflows/{flow.id}?lock_version=1&message=From%20a%20script", json=document)
    assert reply.status_code == 200, reply.get_data(as_text=True)
    snapshot = db.session.query(WorkflowSnapshot).filter_by(workflow_id=flow.id, lock_version=2)
    assert snapshot.one().message == "From a script"


@pytest.mark.parametrize("message", ["x" * 501, "a%00b"])
def test_the_api_refuses_a_message_it_cannot_store(api, flow, message):
    document = export.export_document(store.get_workflow(flow.id))
    reply = api.put(f"/workflows/{flow.id}?message={message}", json=document)
    assert reply.status_code in (400, 422)
    assert "message" in reply.get_data(as_text=True)
    assert store.get_workflow(flow.id).lock_version == 1
