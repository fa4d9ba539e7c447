"""Run errors on the run page, the history's expanded rows and the studio's run panel: the
plain sentence first, the technical detail (type, message, line) one click away."""

from __future__ import annotations

import html as html_lib

from sqlalchemy import select

from app.models import Dataclip, Run, StepRun
from tests import history_factories as hf

HX = {"HX-Request": "true"}
MESSAGE = (
    "Operation 'each' on line 1 failed: POST http://127.0.0.1:5999/patients failed: "
    "[Errno 111] Connection refused"
)
SENTENCE = "record 2: Could not reach 127.0.0.1:5999: nothing answered."


def failed_run(db, flow, *, with_code: bool = True) -> tuple[Run, StepRun]:
    """A failed run whose last step stored a connection-refused error, as the worker does:
    type and message on the rows, the whole error in the step's output state."""
    order = hf.work_order(flow, state="failed", manual=True)
    run = db.session.scalar(select(Run).where(Run.work_order_id == order.id))
    steps = db.session.scalars(
        select(StepRun).where(StepRun.run_id == run.id).order_by(StepRun.started_at)
    ).all()
    failing = steps[-1]
    error = {"type": "JobError", "message": MESSAGE, "line": 1}
    if with_code:
        details = {"host": "127.0.0.1", "port": 5999, "operation": "each", "record": 2}
        error |= {"code": "connection_refused", "details": details}
    output = db.session.get(Dataclip, failing.output_dataclip_id)
    output.body = {**output.body, "errors": {str(failing.step_id): error}}
    failing.error_type, failing.error_message = "JobError", MESSAGE
    run.error_type, run.error_message = "JobError", MESSAGE
    db.session.commit()
    return run, failing


def text_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return html_lib.unescape(response.get_data(as_text=True))


def assert_plain_then_technical(page: str, step_name: str | None = None) -> None:
    sentence = page.index(SENTENCE if step_name else "R" + SENTENCE[1:])
    technical = page.index("Technical detail")
    assert sentence < technical
    assert "<details" in page[sentence : technical + 200]
    assert f"JobError: {MESSAGE}" in page[technical:]
    if step_name:
        assert f"Step “{step_name}”, {SENTENCE}" in page


def test_the_run_page_says_what_went_wrong_plainly_with_the_technical_detail(signed_in, db, flow):
    run, failing = failed_run(db, flow)
    page = text_of(signed_in.get(f"/projects/{flow.project_id}/runs/{run.id}"))
    assert_plain_then_technical(page, failing.step_name)
    assert "Is the system at 127.0.0.1:5999 running" in page
    assert 'data-plain-error="connection_refused"' in page


def test_a_run_stored_before_error_codes_still_reads_plainly(signed_in, db, flow):
    run, _failing = failed_run(db, flow, with_code=False)
    page = text_of(signed_in.get(f"/projects/{flow.project_id}/runs/{run.id}"))
    assert "Could not reach 127.0.0.1:5999: nothing answered." in page
    assert f"JobError: {MESSAGE}" in page


def test_an_expanded_history_row_shows_the_sentence_and_keeps_the_detail(signed_in, db, flow):
    run, failing = failed_run(db, flow)
    url = f"/projects/{flow.project_id}/history/work_orders/{run.work_order_id}"
    page = text_of(signed_in.get(url, headers=HX))
    assert_plain_then_technical(page, failing.step_name)
    assert page.count(SENTENCE) == 1  # the step's own line does not repeat the run's


def test_the_studio_run_panel_shows_the_sentence_and_the_detail(signed_in, db, flow):
    run, failing = failed_run(db, flow)
    base = f"/projects/{flow.project_id}/workflows/{flow.id}/runs/{run.id}"
    status = text_of(signed_in.get(f"{base}/status", headers=HX))
    assert_plain_then_technical(status, failing.step_name)
    tab = text_of(signed_in.get(f"{base}/step?tab=output&step_id={failing.step_id}", headers=HX))
    assert_plain_then_technical(tab)
    assert "alert-danger" in tab
