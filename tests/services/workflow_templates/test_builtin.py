"""Ferry's own templates: each parses and imports as it ships, and the job code copied from
examples/ stays equal to it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from app.services.studio import reopen
from app.services.workflow_templates import catalog
from app.services.workflow_templates.builtin import FOLDER, builtin_templates
from app.services.workflows.documents import check_document

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SLUGS = ["webhook-to-http-api", "webhook-to-dhis2", "commcare-to-fhir", "csv-to-postgresql"]


def test_the_four_templates_ship_in_page_order():
    assert [t.slug for t in builtin_templates()] == SLUGS
    for template in builtin_templates():
        assert template.title and len(template.description) > 80 and template.setup
        assert template.sample_input is not None and "data" in template.sample_input


@pytest.mark.parametrize("slug", SLUGS)
def test_each_document_reads_without_a_problem(slug):
    checked = check_document((FOLDER / slug / "workflow.yaml").read_text())
    assert checked.problems == []
    assert all(job.credential is None for job in checked.document.jobs)
    assert len(checked.document.triggers) == 1


@pytest.mark.parametrize("slug", ["webhook-to-dhis2", "commcare-to-fhir", "csv-to-postgresql"])
def test_job_code_copied_from_examples_stays_equal(slug):
    template = next(t for t in builtin_templates() if t.slug == slug)
    assert template.example == slug
    example = yaml.safe_load((EXAMPLES / slug / "workflow.yaml").read_text())
    assert template.document["name"] == example["name"]
    for key, job in example["jobs"].items():
        copied = template.document["jobs"][key]
        assert copied["body"] == (EXAMPLES / slug / job["body_path"]).read_text(), key
        assert (copied["name"], copied["adaptor"]) == (job["name"], job["adaptor"])
    assert set(template.document["jobs"]) == set(example["jobs"])
    for key, edge in example["edges"].items():
        assert template.document["edges"][key] == edge
    samples = {"webhook-to-dhis2": "request.json", "csv-to-postgresql": "export.json"}
    if slug in samples:
        assert template.sample_input == json.loads((EXAMPLES / slug / samples[slug]).read_text())


def test_the_schema_shown_with_the_postgresql_template_is_the_examples():
    template = catalog.get_template("csv-to-postgresql")
    assert template.schema_sql == (EXAMPLES / "csv-to-postgresql" / "schema.sql").read_text()


def test_the_http_template_reopens_in_the_request_form():
    template = catalog.get_template("webhook-to-http-api")
    body = template.document["jobs"]["send-records"]["body"]
    form = reopen.parse_line("http@1", body.strip())
    assert (form.operation, form.each) == ("post", "data.records")
    assert [row["key"] for row in form.values["body"].rows] == [
        "given_name",
        "family_name",
        "phone",
        "source",
    ]
    assert template.settings[0].replaces in body


def test_the_cron_template_starts_switched_off():
    template = catalog.get_template("commcare-to-fhir")
    assert template.trigger_kinds == ["cron"]
    assert template.document["triggers"]["nightly"]["enabled"] is False


@pytest.mark.parametrize("key", ["", "nope", "../etc", "WEBHOOK-TO-DHIS2", "x" * 500, "\x00"])
def test_unknown_or_crafted_keys_are_not_found(db, key):
    from app.services.errors import NotFound

    with pytest.raises(NotFound):
        catalog.get_template(key)
