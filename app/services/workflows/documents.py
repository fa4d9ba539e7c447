"""The workflow document (YAML or JSON, keys as in OpenFn's project.yaml): parse and validate.

This is Ferry's one workflow validator. `check_document` reads text or a mapping and returns
every problem at once, each with the document path to fix (`jobs.load-dhis2.adaptor`,
`edges.fetch->load.condition_expression`): the builder's canvas shows them all.
`parse_document` gives the `WorkflowDocument` or raises `DocumentInvalid` (an `Invalid` whose
field is the first problem's path and whose `problems` are all of them), for the API, the
import form and saving. Checks that need the database (credential names) live in
`store.resolve_credentials`; credentials are referred to by name.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.services import parsing
from app.services.errors import Invalid
from app.services.workflows import graph, retries, sections
from app.services.workflows.sections import read_text
from app.services.workflows.shapes import (
    DocumentInvalid,
    EdgeDoc,
    JobDoc,
    Problem,
    Report,
    TriggerDoc,
    WorkflowDocument,
)

__all__ = [
    "CheckedDocument",
    "DocumentInvalid",
    "EdgeDoc",
    "JobDoc",
    "Problem",
    "TriggerDoc",
    "WorkflowDocument",
    "check_document",
    "parse_document",
]

TOP_KEYS = {"name", "concurrency", "retry_policy", "triggers", "jobs", "edges"}
# A cap on parallel runs of one workflow; beyond it a cap means nothing on one installation.
MAX_CONCURRENCY = 1000


@dataclass
class CheckedDocument:
    """A document as far as it could be read, with every problem found in it."""

    document: WorkflowDocument  # complete only when `errors` is empty
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        """The problems that block saving."""
        return [p for p in self.problems if p.level == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """The problems worth showing that do not block saving."""
        return [p for p in self.problems if p.level != "error"]


def parse_document(source: str | bytes | dict) -> WorkflowDocument:
    """The document in `source` (YAML/JSON text or a mapping), or DocumentInvalid listing
    every error with its path."""
    checked = check_document(source)
    if checked.errors:
        raise DocumentInvalid(checked.errors)
    return checked.document


def check_document(source: object) -> CheckedDocument:
    """Every problem of a document (errors, then warnings such as unreachable steps), with
    the document read as far as it could be."""
    report = Report()
    document = WorkflowDocument(name="")
    try:
        raw = parsing.read_document(source)
    except Invalid as error:
        report.add(error.field, error.message)
        return CheckedDocument(document, report.problems)
    if not isinstance(raw, dict):
        report.add("", "A workflow document must be a mapping with name, triggers, jobs and edges.")
        return CheckedDocument(document, report.problems)
    sections.unknown_keys(report, raw, TOP_KEYS, "")
    name = read_text(report, raw.get("name"), "name", "The name", "The workflow needs a name.")
    document.name = " ".join(name.split()) if name else ""
    document.concurrency = _concurrency(report, raw.get("concurrency"))
    document.retry_policy = retries.read_policy(
        report, raw.get("retry_policy"), "retry_policy", step=False
    )
    jobs = sections.read_section(report, raw, "jobs")
    document.jobs = [sections.read_job(report, key, entry) for key, entry in jobs.items()]
    triggers = sections.read_section(report, raw, "triggers")
    for key, entry in triggers.items():
        trigger = sections.read_trigger(report, key, entry, set(jobs))
        if trigger is not None:
            document.triggers.append(trigger)
    for key, entry in sections.read_section(report, raw, "edges").items():
        edge = sections.read_edge(report, key, entry, set(triggers), set(jobs))
        if edge is not None:
            document.edges.append(edge)
    graph.check_cycles(report, document)
    graph.check_reach(report, document)
    return CheckedDocument(document, report.problems)


def _concurrency(report: Report, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CONCURRENCY:
        report.add(
            "concurrency",
            f"Use a whole number of 1 or more (at most {MAX_CONCURRENCY}), "
            "or leave it out for no limit.",
        )
        return None
    return value
