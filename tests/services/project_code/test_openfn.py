"""Converting an OpenFn Lightning project.yaml: the structure arrives whole (workflows,
triggers, jobs, edges), adaptors map to Ferry's, JavaScript waits under a "port this job"
banner above a no-op, credentials become placeholders, and bad documents are refused with
every problem at its path in the Lightning document."""

from __future__ import annotations

import copy

import pytest
import yaml

from app.services.project_code import openfn
from app.services.project_code.openfn import LightningInvalid, convert
from app.services.workflows.documents import check_document
from tests.services.project_code.lightning_sample import LIGHTNING_PROJECT
from workers.adaptors import common
from workers.runtime.compiler import compile_job


def lightning() -> dict:
    """The sample as a mapping, to break on purpose."""
    return yaml.safe_load(LIGHTNING_PROJECT)


def problems_of(source) -> dict[str, str]:
    """{path: message} of every problem converting `source` raises."""
    with pytest.raises(LightningInvalid) as caught:
        convert(source)
    return {p.path: p.message for p in caught.value.problems}


# --- The structure ------------------------------------------------------------------------


def test_the_project_and_its_two_workflows_arrive_with_their_names():
    document, _ = convert(LIGHTNING_PROJECT)
    assert document["name"] == "Clinic referrals"
    assert document["description"] == "Referrals from the clinics into DHIS2"
    assert list(document["workflows"]) == ["referral-intake", "nightly-summary"]
    assert document["workflows"]["referral-intake"]["name"] == "Referral intake"
    assert list(document["workflows"]["referral-intake"]["jobs"]) == [
        "Fetch-referral",
        "Load-into-DHIS2",
        "Notify-by-SMS",
    ]


def test_every_converted_workflow_is_a_valid_ferry_workflow():
    document, _ = convert(LIGHTNING_PROJECT)
    for workflow in document["workflows"].values():
        assert check_document(workflow).errors == []


def test_adaptors_map_to_ferry_and_one_without_a_counterpart_becomes_common_with_a_note():
    document, notes = convert(LIGHTNING_PROJECT)
    jobs = document["workflows"]["referral-intake"]["jobs"]
    assert jobs["Fetch-referral"]["adaptor"] == "http@1"
    assert jobs["Load-into-DHIS2"]["adaptor"] == "dhis2@1"
    assert jobs["Notify-by-SMS"]["adaptor"] == "common@1"
    summary = document["workflows"]["nightly-summary"]["jobs"]["Summarise"]
    assert summary["adaptor"] == "common@1"
    adaptor_notes = [n for n in notes if n.kind == openfn.ADAPTOR]
    assert [n.path for n in adaptor_notes] == [
        "workflows.Referral-intake.jobs.Notify-by-SMS.adaptor"
    ]
    assert "@openfn/language-twilio@0.4.2" in adaptor_notes[0].message


@pytest.mark.parametrize(
    ("lightning_adaptor", "ferry"),
    [
        ("@openfn/language-fhir-4@0.1.0", "fhir@1"),
        ("@openfn/language-fhir@latest", "fhir@1"),
        ("@openfn/language-postgresql@4.0.0", "postgresql@1"),
        ("@openfn/language-commcare@3.1.0", "commcare@1"),
        ("@openfn/language-http", "http@1"),
        ("my-own-adaptor", "common@1"),
    ],
)
def test_adaptor_families_map_by_name(lightning_adaptor, ferry):
    raw = lightning()
    raw["workflows"]["Nightly-summary"]["jobs"]["Summarise"]["adaptor"] = lightning_adaptor
    document, _ = convert(raw)
    assert document["workflows"]["nightly-summary"]["jobs"]["Summarise"]["adaptor"] == ferry


def test_triggers_arrive_switched_off_and_a_note_names_the_one_that_was_on():
    document, notes = convert(LIGHTNING_PROJECT)
    assert document["workflows"]["referral-intake"]["triggers"] == {
        "webhook": {"type": "webhook", "enabled": False}
    }
    assert document["workflows"]["nightly-summary"]["triggers"] == {
        "cron": {"type": "cron", "enabled": False, "cron_expression": "0 2 * * *"}
    }
    trigger_notes = [n for n in notes if n.kind == openfn.TRIGGER]
    assert [n.path for n in trigger_notes] == ["workflows.Referral-intake.triggers.webhook"]


def test_edges_keep_their_ends_conditions_labels_and_switches():
    document, _ = convert(LIGHTNING_PROJECT)
    edges = document["workflows"]["referral-intake"]["edges"]
    assert edges["webhook->Fetch-referral"] == {
        "source_trigger": "webhook",
        "target_job": "Fetch-referral",
        "condition_type": "always",
        "enabled": True,
    }
    assert edges["Load-into-DHIS2->Notify-by-SMS"]["condition_type"] == "on_job_failure"
    assert edges["Load-into-DHIS2->Notify-by-SMS"]["enabled"] is False


def test_a_js_expression_edge_becomes_a_marked_expression_that_is_never_taken():
    document, notes = convert(LIGHTNING_PROJECT)
    edge = document["workflows"]["referral-intake"]["edges"]["Fetch-referral->Load-into-DHIS2"]
    assert edge["condition_type"] == "expression"
    assert edge["condition_expression"] == (
        "False  # port: state.data.urgent === true && state.data.district != null"
    )
    assert eval(edge["condition_expression"], {}) is False  # noqa: S307 -- our own constant
    assert edge["condition_label"] == "Urgent with a district"
    [note] = [n for n in notes if n.kind == openfn.CONDITION]
    assert note.path == "workflows.Referral-intake.edges.Fetch-referral->Load-into-DHIS2" + (
        ".condition_expression"
    )


# --- Bodies and credentials ---------------------------------------------------------------


def test_the_javascript_is_kept_as_comments_under_the_banner_above_a_no_op():
    document, _ = convert(LIGHTNING_PROJECT)
    body = document["workflows"]["referral-intake"]["jobs"]["Fetch-referral"]["body"]
    lines = body.splitlines()
    assert lines[0] == "# ---- port this job from OpenFn (JavaScript) ----"
    assert "# get('/referrals/' + state.data.id);" in lines
    assert "#   console.log('fetched');" in lines
    assert lines[-2:] == ["# ---- end of the OpenFn job ----", "fn(lambda state: state)"]
    assert "@openfn/language-http@6.4.0" in body


def test_every_imported_body_compiles_and_passes_the_state_on_unchanged():
    document, _ = convert(LIGHTNING_PROJECT)
    state = {"data": {"id": 7}, "references": []}
    for workflow in document["workflows"].values():
        for job in workflow["jobs"].values():
            steps = compile_job(job["body"], common.OPERATIONS, adaptor="common").build()
            current = state
            for step in steps:
                current = step.operation(current)
            assert current == state


def test_credentials_become_placeholders_named_in_the_banner_and_the_notes():
    document, notes = convert(LIGHTNING_PROJECT)
    jobs = document["workflows"]["referral-intake"]["jobs"]
    assert all(job["credential"] is None for job in jobs.values())
    assert "credentials" not in document
    assert "“DHIS2 production”" in jobs["Load-into-DHIS2"]["body"]
    messages = openfn.credential_placeholders(notes)
    assert len(messages) == 2
    assert any("“Clinic API”" in m and "“Fetch referral”" in m for m in messages)
    assert any("“DHIS2 production”" in m for m in messages)


def test_each_job_has_a_note_to_port_it_and_unknown_sections_are_noted():
    _, notes = convert(LIGHTNING_PROJECT)
    port = [n for n in notes if n.kind == openfn.PORT]
    assert len(port) == 4
    assert port[0].path == "workflows.Referral-intake.jobs.Fetch-referral"
    assert "Fetch referral" in port[0].message
    ignored = [n for n in notes if n.kind == openfn.IGNORED]
    assert [n.message for n in ignored] == ["Not imported (Ferry has no counterpart): globals."]


def test_keys_ferry_cannot_hold_are_rewritten_and_edges_follow_them():
    raw = lightning()
    flow = raw["workflows"]["Nightly-summary"]
    flow["jobs"]["Résumé du jour!"] = flow["jobs"].pop("Summarise")
    flow["edges"] = {
        "cron->Résumé": {
            "source_trigger": "cron",
            "target_job": "Résumé du jour!",
            "condition_type": "always",
        }
    }
    document, _ = convert(raw)
    workflow = document["workflows"]["nightly-summary"]
    assert list(workflow["jobs"]) == ["R-sum-du-jour"]
    assert workflow["edges"]["cron->R-sum-du-jour"]["target_job"] == "R-sum-du-jour"
    assert check_document(workflow).errors == []


def test_two_workflows_with_one_name_get_distinct_names_and_keys():
    raw = lightning()
    raw["workflows"]["Nightly-summary"]["name"] = "Referral intake"
    document, _ = convert(raw)
    names = [w["name"] for w in document["workflows"].values()]
    assert names == ["Referral intake", "Referral intake (2)"]
    assert len(set(document["workflows"])) == 2


# --- Documents that cannot be imported ----------------------------------------------------


@pytest.mark.parametrize(
    ("source", "path", "words"),
    [
        ("- just\n- a list\n", "", "mapping"),
        ("name: [unclosed\n", "", "not valid YAML"),
        (b"\xff\xfe", "", "not UTF-8"),
        ("name: Empty\n", "workflows", "no workflows"),
        ("name: Empty\nworkflows: {}\n", "workflows", "no workflows"),
        ("name: A\x00B\nworkflows: {}\n", "", "NUL"),
        ("[" * 200 + "]" * 200, "", "nested too deeply"),
        (
            "a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
            "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n",
            "",
            "aliases",
        ),
    ],
)
def test_unreadable_documents_are_refused_saying_what_is_wrong(source, path, words):
    found = problems_of(source)
    assert path in found
    assert words in found[path]


def test_a_huge_document_is_refused_before_it_is_read():
    found = problems_of("name: x\n# " + "x" * openfn.MAX_TEXT + "\n")
    assert "too large" in found[""]


def test_a_key_written_twice_is_named_with_both_lines():
    text = LIGHTNING_PROJECT.replace(
        "  Nightly-summary:\n    name: Nightly summary\n    jobs:\n",
        "  Nightly-summary:\n    name: Nightly summary\n    jobs:\n"
        "      Summarise:\n        name: First\n        adaptor: '@openfn/language-common@1'\n",
    )
    found = problems_of(text)
    [(path, message)] = found.items()
    assert path == "workflows.Nightly-summary.jobs.Summarise"
    assert "written twice" in message and "lines" in message


def test_every_problem_is_reported_at_once_with_its_lightning_path():
    raw = lightning()
    flow = raw["workflows"]["Referral-intake"]
    flow["edges"]["Fetch-referral->Load-into-DHIS2"]["target_job"] = "Missing-job"
    flow["edges"]["webhook->Fetch-referral"]["condition_type"] = "sometimes"
    flow["jobs"]["Notify-by-SMS"]["adaptor"] = 42
    raw["workflows"]["Nightly-summary"]["triggers"]["cron"]["cron_expression"] = "every night"
    raw["workflows"]["Empty"] = {"name": "Empty", "jobs": {}}
    found = problems_of(raw)
    assert set(found) == {
        "workflows.Referral-intake.edges.Fetch-referral->Load-into-DHIS2.target_job",
        "workflows.Referral-intake.edges.webhook->Fetch-referral.condition_type",
        "workflows.Referral-intake.jobs.Notify-by-SMS.adaptor",
        "workflows.Nightly-summary.triggers.cron.cron_expression",
        "workflows.Empty.jobs",
    }
    assert (
        "'Missing-job'"
        in found["workflows.Referral-intake.edges.Fetch-referral->Load-into-DHIS2.target_job"]
    )


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda r: r.update(name=None), "name"),
        (lambda r: r.update(name="x" * 201), "name"),
        (lambda r: r.update(description=["a"]), "description"),
        (lambda r: r.update(credentials=["a"]), "credentials"),
        (lambda r: r.update(workflows=["a"]), "workflows"),
        (lambda r: r["workflows"].update(Broken="text"), "workflows.Broken"),
        (
            lambda r: r["workflows"]["Nightly-summary"].update(jobs="x"),
            "workflows.Nightly-summary.jobs",
        ),
        (
            lambda r: r["workflows"]["Nightly-summary"]["jobs"].update(Odd=[1]),
            "workflows.Nightly-summary.jobs.Odd",
        ),
        (
            lambda r: r["workflows"]["Nightly-summary"]["jobs"]["Summarise"].update(body={"a": 1}),
            "workflows.Nightly-summary.jobs.Summarise.body",
        ),
        (
            lambda r: r["workflows"]["Nightly-summary"]["jobs"]["Summarise"].update(name="n" * 300),
            "workflows.Nightly-summary.jobs.Summarise.name",
        ),
        (
            lambda r: r["workflows"]["Nightly-summary"]["jobs"]["Summarise"].update(credential=3),
            "workflows.Nightly-summary.jobs.Summarise.credential",
        ),
        (
            lambda r: r["workflows"]["Nightly-summary"]["triggers"]["cron"].update(type="email"),
            "workflows.Nightly-summary.triggers.cron.type",
        ),
        (
            lambda r: r["workflows"]["Nightly-summary"]["edges"]["cron->Summarise"].update(
                source_trigger=["cron"]
            ),
            "workflows.Nightly-summary.edges.cron->Summarise.source_trigger",
        ),
        (
            lambda r: r["workflows"]["Nightly-summary"]["edges"]["cron->Summarise"].update(
                source_job="Summarise"
            ),
            "workflows.Nightly-summary.edges.cron->Summarise",
        ),
        (
            lambda r: r["workflows"]["Nightly-summary"]["edges"]["cron->Summarise"].update(
                condition_type="js_expression"
            ),
            "workflows.Nightly-summary.edges.cron->Summarise.condition_expression",
        ),
        (
            lambda r: r["workflows"]["Nightly-summary"].update(
                edges={"loop": {"source_job": "Summarise", "target_job": "Summarise"}}
            ),
            "workflows.Nightly-summary.edges.loop",
        ),
    ],
)
def test_wrong_shapes_and_types_are_refused_at_their_path(change, path):
    raw = copy.deepcopy(lightning())
    change(raw)
    found = problems_of(raw)
    assert path in found, found


def test_too_many_workflows_are_refused():
    raw = lightning()
    flow = raw["workflows"]["Nightly-summary"]
    raw["workflows"] = {
        f"w{i}": {**flow, "name": f"W {i}"} for i in range(openfn.MAX_WORKFLOWS + 1)
    }
    assert "workflows" in problems_of(raw)


def test_a_kafka_trigger_becomes_a_webhook_with_a_note():
    raw = lightning()
    raw["workflows"]["Nightly-summary"]["triggers"]["cron"] = {"type": "kafka", "enabled": True}
    document, notes = convert(raw)
    trigger = document["workflows"]["nightly-summary"]["triggers"]["cron"]
    assert trigger == {"type": "webhook", "enabled": False}
    assert any("Kafka" in n.message for n in notes if n.kind == openfn.TRIGGER)


def test_a_credential_not_listed_under_credentials_is_still_a_placeholder():
    raw = lightning()
    raw["workflows"]["Nightly-summary"]["jobs"]["Summarise"]["credential"] = "someone-Warehouse"
    document, notes = convert(raw)
    assert document["workflows"]["nightly-summary"]["jobs"]["Summarise"]["credential"] is None
    assert any("“someone-Warehouse”" in m for m in openfn.credential_placeholders(notes))


def test_a_mapping_holding_a_nul_character_is_refused():
    raw = lightning()
    raw["workflows"]["Nightly-summary"]["jobs"]["Summarise"]["body"] = "fn()\x00"
    assert "NUL" in problems_of(raw)[""]


def test_a_job_switched_off_in_lightning_is_noted():
    raw = lightning()
    raw["workflows"]["Nightly-summary"]["jobs"]["Summarise"]["enabled"] = False
    _, notes = convert(raw)
    assert any("switched off in Lightning" in n.message for n in notes)
