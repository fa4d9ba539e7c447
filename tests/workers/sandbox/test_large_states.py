"""A large state through the sandbox as JSON text: the caller's text goes in unparsed, and
with `raw_result` a large output comes back as text (app.json_text), equal to the objects."""

from __future__ import annotations

import json

from app.json_text import RAW_ABOVE_BYTES, JsonText
from workers.runtime.protocol import StepRequest

# Records with a "state" key: the marker the result's head is found by occurs in the data.
RECORDS = [{"id": n, "state": "Gulu", "note": ', "state": x' * 3} for n in range(2000)]
PASS_ON = "fn(lambda state: {**state, 'data': {'records': state['data'], 'n': len(state['data'])}})"


def text_state() -> JsonText:
    return JsonText.wrapping("data", json.dumps(RECORDS).encode(), {"request": {"m": "POST"}})


def test_a_text_state_runs_and_a_large_output_comes_back_as_text(sandbox):
    state = text_state()
    assert state.size > RAW_ABOVE_BYTES
    result = sandbox.run(StepRequest(body=PASS_ON, adaptor="common", state=state, raw_result=True))
    assert result.status == "success", result.error
    assert isinstance(result.state, JsonText)
    expected = {"data": {"records": RECORDS, "n": 2000}, "request": {"m": "POST"}, "references": []}
    assert result.state.parsed() == expected


def test_without_raw_result_the_output_is_objects(sandbox):
    result = sandbox.run(StepRequest(body=PASS_ON, adaptor="common", state=text_state()))
    assert result.status == "success" and result.state["data"]["n"] == 2000


def test_a_small_output_stays_objects_even_with_raw_result(sandbox):
    body = "fn(lambda state: {'data': len(state['data'])})"
    result = sandbox.run(
        StepRequest(body=body, adaptor="common", state=text_state(), raw_result=True)
    )
    assert result.state == {"data": 2000}


def test_a_failure_with_state_in_its_details_keeps_its_error_and_large_state(sandbox):
    # The error names its own "state"; the result's head is still told apart from the state.
    job = (
        "def boom(state):\n"
        "    raise ValueError('no, \"state\": here')\n"
        "fn(lambda state: {**state, 'data': state['data'] + [{'x': 1}]})\n"
        "fn(boom)\n"
    )
    result = sandbox.run(
        StepRequest(body=job, adaptor="common", state=text_state(), raw_result=True)
    )
    assert result.status == "failed"
    assert '"state": here' in result.error["message"]
    state = result.state.parsed() if isinstance(result.state, JsonText) else result.state
    assert state["data"][-1] == {"x": 1} and len(state["data"]) == 2001


def test_a_text_state_with_a_credential_reaches_the_step_and_not_its_output(sandbox):
    state = text_state().with_key("configuration", {"password": "pa55-w0rd-long"})
    body = (
        "fn(lambda state: {**state, 'data': [state['configuration']['password'], *state['data']]})"
    )
    result = sandbox.run(StepRequest(body=body, adaptor="common", state=state, raw_result=True))
    output = result.state.parsed()
    assert output["data"][0] == "***" and "configuration" not in output
