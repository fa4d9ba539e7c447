"""The data mapper's preview: the request the form would send for the first record of the
sample, worked out without running code; what is missing is said in words."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from app.services.studio import preview

SAMPLE = {"data": {"records": [{"name": "Ada", "age": 36}, {"name": "Grace", "age": 45}]}}


def post_form(*rows, each="data.records", path="http://127.0.0.1:5999/patients", **extra):
    pairs = [("path-mode", "text"), ("path-value", path), ("body-mode", "fields"), ("each", each)]
    for key, mode, value in rows:
        pairs += [("body-key", key), ("body-rowmode", mode), ("body-rowvalue", value)]
    pairs += list(extra.items())
    return MultiDict(pairs)


def test_the_first_record_is_sent_with_renamed_fields():
    form = post_form(
        ("full_name", "input", "data.name"),
        ("years", "input", "data.age"),
        ("source", "text", "ferry"),
    )
    shown = preview.preview("http@1", "post", form, SAMPLE)
    assert (shown.method, shown.url, shown.relative) == (
        "POST",
        "http://127.0.0.1:5999/patients",
        False,
    )
    assert shown.record == "record 1 of 2"
    assert '"full_name": "Ada"' in shown.body and '"years": 36' in shown.body
    assert '"source": "ferry"' in shown.body and shown.problem == ""


def test_a_relative_path_says_it_follows_the_credentials_base_url():
    shown = preview.preview(
        "http@1", "get", MultiDict({"path-mode": "text", "path-value": "/x"}), SAMPLE
    )
    assert shown.method == "GET" and shown.relative and shown.body is None


def test_a_field_the_sample_lacks_names_what_it_has():
    form = post_form(("full_name", "input", "data.nmae"))
    shown = preview.preview("http@1", "post", form, SAMPLE)
    assert shown.problem == "The sample has no data.nmae. data has: name, age."


def test_repeat_over_something_that_is_not_a_list_says_so():
    shown = preview.preview("http@1", "post", post_form(each="data.records.0.name"), SAMPLE)
    assert "needs a list" in shown.problem and "text" in shown.problem
    empty = preview.preview("http@1", "post", post_form(each="data.none"), {"data": {"none": []}})
    assert "empty list" in empty.problem
    missing = preview.preview("http@1", "post", post_form(each="data.patients"), SAMPLE)
    assert missing.problem == "The sample has no data.patients. data has: records."


def test_wrong_values_are_said_like_insert_says_them():
    form = post_form(("age", "number", "thirty"))
    assert "is not a number" in preview.preview("http@1", "post", form, SAMPLE).problem
    form = post_form(("tags", "json", "[1,"))
    assert "not valid JSON" in preview.preview("http@1", "post", form, SAMPLE).problem
    unknown = MultiDict({"path-mode": "python", "path-value": "x"})
    assert "choose how" in preview.preview("http@1", "get", unknown, SAMPLE).problem


def test_values_of_every_kind_are_shown_as_sent():
    form = post_form(
        ("n", "number", "2.5"),
        ("ok", "bool", "true"),
        ("j", "json", '{"a": [1]}'),
        ("whole", "input", "data"),
        each="",
    )
    shown = preview.preview("http@1", "post", form, SAMPLE)
    assert '"n": 2.5' in shown.body and '"ok": true' in shown.body and '"a": [' in shown.body
    assert '"records": [' in shown.body and shown.record == ""


def test_without_a_sample_or_for_other_adaptors():
    assert (
        "Choose or paste a sample" in preview.preview("http@1", "post", post_form(), None).problem
    )
    shown = preview.preview(
        "common@1",
        "log",
        MultiDict(
            [
                ("args-mode", "list"),
                ("args-rowmode", "input"),
                ("args-rowvalue", "data.records.1.name"),
            ]
        ),
        SAMPLE,
    )
    assert shown.method == "log" and shown.details == [("args", '[\n  "Grace"\n]')]
    assert "Choose an operation" in preview.preview("http@1", "nope", MultiDict(), SAMPLE).problem
