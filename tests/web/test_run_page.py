"""The run page: timeline, a step's input and output, logs, shareable step links, retries."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import pytest
from sqlalchemy import select

from app.models import Dataclip, Role, Run, RunState, StepRun
from app.services.history import run_page
from tests import factories
from tests import history_factories as hf
from tests.support import csrf_token_from, log_in


@pytest.fixture
def failed_run(flow, db):
    order = hf.work_order(
        flow,
        state="failed",
        body={"patient": {"name": "Amina Diallo", "visits": [1, 2, 3]}},
        logs=[("debug", "starting"), ("info", "fetched 3 cases"), ("error", "DHIS2 said 409")],
    )
    return db.session.scalar(select(Run).where(Run.work_order_id == order.id))


def page_of(client, project, run, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    response = client.get(f"/projects/{project.id}/runs/{run.id}?{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def steps_of(db, run) -> list[StepRun]:
    return list(
        db.session.scalars(
            select(StepRun).where(StepRun.run_id == run.id).order_by(StepRun.started_at)
        )
    )


def test_run_page_shows_the_timeline_and_the_failed_step(signed_in, project, failed_run, user):
    html = page_of(signed_in, project, failed_run)
    assert f'Run <code class="fs-4">{str(failed_run.id)[:8]}</code>' in html
    # "version 1" links to that version, read-only, in the builder.
    assert re.search(r"Patient sync · <a href=\"[^\"]+/versions/1\"[^>]*>version 1</a>", html)
    assert "latest" in html
    assert "the webhook trigger “webhook”" in html
    timeline = html[html.index('id="run-timeline"') :]
    assert timeline.index("Fetch cases") < timeline.index("Load cases")
    # The step that failed is opened first.
    assert re.search(
        r'active" aria-current="step">\s*<a[^>]*>\s*<div[^>]*>\s*'
        r'<span class="badge ferry-state text-bg-danger" data-state="failed"',
        html,
    )
    assert '<h2 class="h5 mb-0" id="step-title">Load cases</h2>' in html


def test_step_link_opens_that_step_with_its_input_output_and_logs(
    signed_in, project, failed_run, db
):
    first = steps_of(db, failed_run)[0]
    html = page_of(signed_in, project, failed_run, step=first.id)
    assert '<h2 class="h5 mb-0" id="step-title">Fetch cases</h2>' in html
    assert (
        f'data-ferry-copy="http://localhost/projects/{project.id}/runs/{failed_run.id}?step={first.id}"'
        in html
    )
    # The input tree: keys, strings, numbers, and the raw JSON.
    assert (
        '<span class="ferry-json-key">name</span>: '
        '<span class="ferry-json-string">"Amina Diallo"</span>' in html
    )
    assert "3 items" in html and "Raw JSON" in html
    assert "fetched 3 cases" in html and "DHIS2 said 409" in html
    fragment = signed_in.get(
        f"/projects/{project.id}/runs/{failed_run.id}?step={first.id}",
        headers={"HX-Request": "true"},
    )
    assert "<html" not in fragment.get_data(as_text=True)
    assert 'id="run-body"' in fragment.get_data(as_text=True)


def test_logs_filter_by_level_and_text(signed_in, project, failed_run, db):
    first = steps_of(db, failed_run)[0]
    url = f"/projects/{project.id}/runs/{failed_run.id}/logs?step={first.id}"
    warn = signed_in.get(f"{url}&level=warn").get_data(as_text=True)
    assert "DHIS2 said 409" in warn and "fetched 3 cases" not in warn and "starting" not in warn
    found = signed_in.get(f"{url}&log_q=FETCHED").get_data(as_text=True)
    assert "fetched 3 cases" in found and "DHIS2" not in found
    none = signed_in.get(f"{url}&log_q=nothing-like-this").get_data(as_text=True)
    assert "No log lines match." in none
    second = steps_of(db, failed_run)[1]
    own = signed_in.get(f"/projects/{project.id}/runs/{failed_run.id}/logs?step={second.id}")
    assert "No log lines" in own.get_data(as_text=True)
    every = signed_in.get(
        f"/projects/{project.id}/runs/{failed_run.id}/logs?step={second.id}&logs=all"
    )
    assert "fetched 3 cases" in every.get_data(as_text=True)


def test_wiped_and_too_large_dataclips_say_so(signed_in, project, failed_run, db, monkeypatch):
    first, second = steps_of(db, failed_run)
    wiped_at = datetime(2026, 11, 30, 2, 15, tzinfo=UTC)
    db.session.get(Dataclip, first.input_dataclip_id).wiped_at = wiped_at
    db.session.get(Dataclip, second.input_dataclip_id).body = {"rows": ["x" * 50] * 100}
    db.session.commit()
    html = page_of(signed_in, project, failed_run, step=first.id)
    assert "was wiped on" in html and "2026-11-30" in html and "retention policy" in html
    assert "Amina" not in html
    # Retrying from that step would be refused, so the button says why instead.
    assert "input was wiped on 2026-11-30 by the project's data retention policy" in unescape(html)
    monkeypatch.setattr(run_page, "MAX_TREE_CHARS", 1000)
    monkeypatch.setattr(run_page, "PREVIEW_CHARS", 300)
    html = page_of(signed_in, project, failed_run, step=second.id)
    assert "Preview: first 300 bytes of 5.28 KB." in html and "too large to show whole" in html


def test_raw_bodies_show_as_text(signed_in, project, flow, db):
    order = hf.work_order(flow, raw_body="<case><name>Kofi</name></case>", steps=0)
    run = db.session.scalar(select(Run).where(Run.work_order_id == order.id))
    html = page_of(signed_in, project, run)
    assert "&lt;case&gt;&lt;name&gt;Kofi" in html and "No steps ran." in html


def test_editor_retries_from_start_and_from_a_step(client, project, failed_run, db):
    person = factories.user()
    factories.member(project, person, Role.EDITOR)
    log_in(client, person.email, factories.PASSWORD)
    html = page_of(client, project, failed_run)
    assert "Retry from start" in html and "Retry from this step" in html
    token = csrf_token_from(html)
    response = client.post(
        f"/projects/{project.id}/runs/{failed_run.id}/retry",
        data={"csrf_token": token, "snapshot": "original"},
    )
    assert response.status_code == 302
    new_run = db.session.get(Run, response.headers["Location"].rsplit("/", 1)[-1])
    assert new_run.work_order_id == failed_run.work_order_id
    assert new_run.created_by_id == person.id and new_run.state is RunState.AVAILABLE
    second = steps_of(db, failed_run)[1]
    response = client.post(
        f"/projects/{project.id}/runs/{failed_run.id}/retry",
        data={"csrf_token": token, "step_id": str(second.step_id), "snapshot": "latest"},
    )
    from_step = db.session.get(Run, response.headers["Location"].rsplit("/", 1)[-1])
    assert from_step.starting_step_id == second.step_id
    assert from_step.dataclip_id == second.input_dataclip_id
    page = page_of(client, project, from_step)
    assert "Retry queued as run" in page and person.display_name in page


def test_viewers_see_the_run_but_cannot_retry(client, project, failed_run, db):
    person = factories.user()
    factories.member(project, person, Role.VIEWER)
    log_in(client, person.email, factories.PASSWORD)
    html = page_of(client, project, failed_run)
    assert "Load cases" in html and "Retry" not in html
    response = client.post(
        f"/projects/{project.id}/runs/{failed_run.id}/retry",
        data={"csrf_token": csrf_token_from(html)},
    )
    assert response.status_code == 403
    assert db.session.query(Run).count() == 1


def test_an_open_run_refreshes_itself_until_it_ends(signed_in, project, flow, db):
    order = hf.work_order(flow, state="running")
    run = db.session.scalar(select(Run).where(Run.work_order_id == order.id))
    html = page_of(signed_in, project, run)
    assert 'hx-trigger="every 2s"' in html and "running…" in html
    run.state = RunState.SUCCESS
    db.session.commit()
    assert 'hx-trigger="every 2s"' not in page_of(signed_in, project, run)


def test_runs_of_other_projects_and_unknown_steps_are_404(signed_in, project, failed_run, db):
    theirs = hf.work_order(hf.workflow(factories.project(factories.user())))
    run = db.session.scalar(select(Run).where(Run.work_order_id == theirs.id))
    assert signed_in.get(f"/projects/{project.id}/runs/{run.id}").status_code == 404
    assert signed_in.get(f"/projects/{run.project_id}/runs/{run.id}").status_code == 404
    url = f"/projects/{project.id}/runs/{failed_run.id}"
    assert signed_in.get(f"{url}?step={run.id}").status_code == 404
    assert signed_in.get(f"{url}?step=nonsense").status_code == 404


# -- credential values never shown ---------------------------------------------------------

SECRET = "pa55-Word-that-leaked-9f3k"


@pytest.fixture
def leaky_run(project, flow, user, db):
    """A failed run whose stored data holds a shared credential's password: in its input,
    a step's output, a log line and both error messages (as if scrubbing had missed it)."""

    factories.shared_dhis2_credential(user, project, SECRET)
    order = hf.work_order(
        flow,
        state="failed",
        body={"patient": "Amina", "token": SECRET},
        logs=[("info", f"signing in with admin:{SECRET}"), ("error", "DHIS2 said 401")],
    )
    run = db.session.scalar(select(Run).where(Run.work_order_id == order.id))
    run.error_message = f"Unauthorised with password {SECRET}"
    first, last = steps_of(db, run)
    last.error_message = f"POST failed: {SECRET} was refused"
    db.session.get(Dataclip, first.output_dataclip_id).body = {"data": {"auth": SECRET}}
    db.session.commit()
    return run


def test_run_pages_mask_credential_values_that_reached_stored_data(
    signed_in, project, leaky_run, db
):
    first = steps_of(db, leaky_run)[0]
    base = f"/projects/{project.id}/runs/{leaky_run.id}"
    pages = {
        "failed step (errors, its input)": page_of(signed_in, project, leaky_run),
        "first step (input, output, logs)": page_of(signed_in, project, leaky_run, step=first.id),
        "all logs": signed_in.get(f"{base}/logs?logs=all").get_data(as_text=True),
        "history row detail": signed_in.get(
            f"/projects/{project.id}/history/work_orders/{leaky_run.work_order_id}"
        ).get_data(as_text=True),
    }
    for name, html in pages.items():
        assert SECRET not in html, name
        assert "***" in html, name
    assert "Unauthorised with password ***" in pages["failed step (errors, its input)"]
    assert "POST failed: *** was refused" in pages["failed step (errors, its input)"]
    assert "signing in with admin:***" in pages["all logs"]
    assert "POST failed: *** was refused" in pages["history row detail"]
    # What is not a secret stays readable.
    assert "Amina" in pages["first step (input, output, logs)"]
    assert "DHIS2 said 401" in pages["all logs"]


def test_a_previewed_prefix_never_ends_in_part_of_a_secret(
    signed_in, project, flow, user, leaky_run, db, monkeypatch
):
    # The preview of a long raw body is cut after masking: a secret across the cut is
    # masked whole, not shown up to the cut.
    monkeypatch.setattr(run_page, "PREVIEW_CHARS", 20)
    monkeypatch.setattr(run_page, "MAX_TREE_CHARS", 30)  # smaller raw bodies show whole
    order = hf.work_order(flow, raw_body="x" * 10 + SECRET + " and more text")
    run = db.session.scalar(select(Run).where(Run.work_order_id == order.id))
    html = page_of(signed_in, project, run, step=steps_of(db, run)[0].id)
    assert "x" * 10 + "***" in html
    assert SECRET[:6] not in html


def test_the_builders_run_panel_masks_them_too(signed_in, project, flow, leaky_run, db):
    first, last = steps_of(db, leaky_run)
    base = f"/projects/{project.id}/workflows/{flow.id}"
    shown = {
        "progress": signed_in.get(
            f"{base}/runs/{leaky_run.id}/status", headers={"HX-Request": "true"}
        ).get_data(as_text=True),
        "input preview": unescape(
            signed_in.get(f"{base}/inputs?dataclip_id={leaky_run.dataclip_id}").get_data(True)
        ),
    }
    for tab in ("input", "output", "logs"):
        for step in (first, last):
            url = f"{base}/runs/{leaky_run.id}/step?tab={tab}&step_id={step.step_id}"
            shown[f"{tab} of {step.step_name}"] = signed_in.get(url).get_data(as_text=True)
    for name, text in shown.items():
        assert SECRET not in text, name
    assert "Unauthorised with password ***" in shown["progress"]
    assert '"token": "***"' in shown["input preview"]
    assert "signing in with admin:***" in shown[f"logs of {first.step_name}"]
    assert "&#34;auth&#34;: &#34;***&#34;" in shown[f"output of {first.step_name}"]
    assert "POST failed: *** was refused" in shown[f"output of {last.step_name}"]
