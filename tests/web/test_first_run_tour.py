"""The first-run tour: an empty project says what to do first, and an empty history says how
to send the first request (each webhook's URL and a ready curl line, or how to get one)."""

from __future__ import annotations

import html as html_lib
import re

from app.models import Role
from tests import factories
from tests.support import log_in


def test_an_empty_project_says_to_create_a_workflow_from_a_template(signed_in, user, db):
    project = factories.project(user, "Fresh")
    html = signed_in.get(f"/projects/{project.id}").get_data(as_text=True)
    assert "Create a workflow from a template" in html
    assert f'href="/projects/{project.id}/workflows/new"' in html
    assert "Send the first request" in html
    dashboard = signed_in.get(f"/projects/{project.id}/dashboard").get_data(as_text=True)
    assert re.search(rf'href="/projects/{project.id}/workflows/new" data-first-step', dashboard)


def test_viewers_are_not_sent_to_pages_they_cannot_open(client, user, db):
    project = factories.project(user, "Fresh")
    viewer = factories.user()
    factories.member(project, viewer, Role.VIEWER)
    log_in(client, viewer.email, factories.PASSWORD)
    for page in ("", "/dashboard"):
        html = client.get(f"/projects/{project.id}{page}").get_data(as_text=True)
        assert "/workflows/new" not in html


def test_the_empty_history_shows_each_webhook_url_and_a_curl_line(signed_in, user, db):
    project = factories.project(user, "Fresh")
    workflow = factories.workflow(project, name="Patient intake")
    trigger = workflow.triggers[0]
    html = signed_in.get(f"/projects/{project.id}/history").get_data(as_text=True)
    assert "Send the first request" in html
    url = f"/i/{trigger.id}"
    values = [html_lib.unescape(v) for v in re.findall(r'value="([^"]*)" readonly', html)]
    assert any(v.endswith(url) and v.startswith("http") for v in values)
    curl = next(v for v in values if v.startswith("curl "))
    assert url in curl and "Content-Type: application/json" in curl and "-d '{" in curl
    assert html.count("data-copy-target=") >= 2
    assert "js/copy.js" in html


def test_without_a_webhook_the_history_says_how_to_get_one(signed_in, user, db):
    project = factories.project(user, "Fresh")
    html = signed_in.get(f"/projects/{project.id}/history").get_data(as_text=True)
    assert "No workflow here starts from a webhook yet" in html
    assert "add a <em>Webhook</em> trigger" in html


def test_a_filtered_empty_history_does_not_show_the_guide(signed_in, user, db):
    project = factories.project(user, "Fresh")
    factories.workflow(project, name="Patient intake")
    html = signed_in.get(
        f"/projects/{project.id}/history", query_string={"state": "failed"}
    ).get_data(as_text=True)
    assert "Send the first request" not in html and "No work orders match" in html
