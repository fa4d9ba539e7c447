"""The data mapper's samples: chosen from the last input, a stored input, a pasted sample or
the previous step's output; bad pasted JSON is refused on the paste box with what to fix."""

from __future__ import annotations

import pytest

from app.services.errors import Invalid
from app.services.parsing import MAX_DEPTH
from app.services.studio import samples
from tests import factories
from tests import history_factories as hf


def step_of(flow, key: str):
    return next(s for s in flow.steps if s.key == key)


def test_a_pasted_list_of_records_is_the_data_the_step_gets(db, flow):
    sample = samples.load(flow.id, flow.project_id, "paste", pasted='[{"name": "Ada"}]')
    assert sample.state == {"data": [{"name": "Ada"}]}
    assert sample.lists == [{"path": "data", "count": 1}]


def test_a_pasted_state_with_data_is_taken_as_it_is(db, flow):
    text = '{"data": {"records": [{"name": "Ada", "tags": [1]}]}, "references": []}'
    sample = samples.load(flow.id, flow.project_id, "paste", pasted=text)
    assert sample.state["references"] == []
    # Lists inside a record are per record: only whole-sample lists are offered for repeat.
    assert sample.lists == [
        {"path": "references", "count": 0},
        {"path": "data.records", "count": 1},
    ]


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('{"name": "Ada"', "is not valid JSON"),
        ("{'name': 'Ada'}", "is not valid JSON"),
        ('{"name": "A\\u0000da"}', "NUL"),
        ("[" * (MAX_DEPTH + 5) + "]" * (MAX_DEPTH + 5), "deep"),
        ('{"n": NaN}', "NaN"),
        ('"x"' + " " * samples.MAX_PASTE, "too long"),
    ],
)
def test_bad_pasted_json_is_refused_on_the_paste_box(db, flow, text, said):
    with pytest.raises(Invalid) as caught:
        samples.load(flow.id, flow.project_id, "paste", pasted=text)
    assert caught.value.field == "sample_json"
    assert said.lower() in caught.value.message.lower()


def test_an_empty_paste_box_asks_for_a_sample_without_an_error(db, flow):
    sample = samples.load(flow.id, flow.project_id, "paste", pasted="  ")
    assert sample.state is None and "Paste a JSON sample" in sample.note
    with pytest.raises(Invalid):
        samples.parse_pasted("")


def test_the_last_input_is_the_latest_runs_input_masked_like_run_pages(db, flow):
    hf.work_order(flow, body={"records": [{"name": "old"}]}, received=hf.at(minutes_ago=5))
    hf.work_order(flow, body={"records": [{"name": "Ada"}]})
    sample = samples.load(flow.id, flow.project_id, "last")
    assert sample.state["data"] == {"records": [{"name": "Ada"}]}
    assert sample.state["request"]["method"] == "POST"
    assert {"path": "data.records", "count": 1} in sample.lists


def test_without_any_input_the_last_input_says_so(db, flow):
    sample = samples.load(flow.id, flow.project_id, "last")
    assert sample.state is None and "No input has reached" in sample.note


def test_a_saved_test_input_or_recent_input_is_offered_and_loaded(db, flow):
    from app.services.studio import run_panel

    clip = run_panel.save_input(flow.project_id, "Two patients", custom_text='{"data": [1, 2]}')
    hf.work_order(flow, body={"x": 1})
    offered = samples.choices(flow.id, flow.project_id)
    assert [c.label for c in offered["saved"]] == ["Two patients"]
    assert len(offered["recent"]) == 1
    assert [c.value for c in offered["own"]] == ["last", "previous", "paste"]
    sample = samples.load(flow.id, flow.project_id, f"clip:{clip.id}")
    assert sample.state == {"data": [1, 2]}


@pytest.mark.parametrize(
    "source", ["clip:nope", "clip:00000000-0000-4000-8000-000000000000", "other", "clip:"]
)
def test_a_crafted_choice_is_refused(db, flow, source):
    with pytest.raises(Invalid) as caught:
        samples.load(flow.id, flow.project_id, source)
    assert caught.value.field == "sample"


def test_another_projects_input_is_not_readable(db, flow, user):
    from app.services.studio import run_panel

    other = factories.project(user, "Other")
    clip = run_panel.save_input(other.id, "Secret", custom_text='{"data": 1}')
    with pytest.raises(Invalid):
        samples.load(flow.id, flow.project_id, f"clip:{clip.id}")


def test_the_previous_steps_output_in_the_last_run(db, flow):
    hf.work_order(flow)
    sample = samples.load(flow.id, flow.project_id, "previous", step_id=step_of(flow, "load").id)
    assert sample.state == {"data": {"step": "fetch", "n": 0}}


def test_the_previous_step_output_explains_when_there_is_none(db, flow):
    first = samples.load(flow.id, flow.project_id, "previous", step_id=step_of(flow, "fetch").id)
    assert first.state is None and "right after the trigger" in first.note
    unsaved = samples.load(flow.id, flow.project_id, "previous", step_id=None)
    assert "Save the workflow first" in unsaved.note
    not_run = samples.load(flow.id, flow.project_id, "previous", step_id=step_of(flow, "load").id)
    assert "has not finished a run" in not_run.note


def test_describe_shows_short_values_and_sizes():
    assert samples.describe("Ada") == "“Ada”"
    assert samples.describe("x" * 50).endswith("…”")
    assert samples.describe([1, 2]) == "list of 2"
    assert samples.describe({"a": 1}) == "1 field"
    assert samples.describe(None) == "empty" and samples.describe(True) == "yes"
    assert samples.describe(3) == "3"


def test_the_paths_of_a_sample_follow_the_first_record_of_each_list():
    state = {"data": {"records": [{"name": "Ada", "address": {"city": "Kisumu"}}, {"x": 1}]}}
    assert samples.paths_in(state) == [
        "data",
        "data.records",
        "data.records.0",
        "data.records.0.name",
        "data.records.0.address",
        "data.records.0.address.city",
    ]
    # At most TREE_KEYS keys of an object, and 80 paths in all.
    assert len(samples.paths_in({"data": {str(n): n for n in range(200)}})) == 61
    wide = {"data": {f"k{n}": {"a": 1, "b": 2} for n in range(50)}}
    assert len(samples.paths_in(wide)) == 80
