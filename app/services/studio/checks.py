"""The builder's canvas checks: every problem at once (cycles, unreachable steps, missing
adaptors or names, unparsable edge expressions, unknown credentials), each with the document
path of the node or edge it concerns, so the canvas can mark it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import Credential, ProjectCredential
from app.services import adaptor_catalog
from app.services.errors import Invalid, ServiceError
from app.services.workflows.documents import check_condition_expression, parse_document


@dataclass
class Problem:
    """Something wrong on the canvas; `path` names the node or edge (jobs.<key>.adaptor)."""

    path: str
    message: str
    level: str = "error"  # or "warning": saving is still allowed

    def as_dict(self) -> dict:
        """The problem as JSON for the canvas."""
        return {"path": self.path, "message": self.message, "level": self.level}


def _shared_names(project_id: uuid.UUID) -> set[str]:
    return set(
        db.session.scalars(
            select(Credential.name)
            .join(ProjectCredential, ProjectCredential.credential_id == Credential.id)
            .where(ProjectCredential.project_id == project_id)
        )
    )


def validate_canvas(project_id: uuid.UUID, document: object) -> list[Problem]:
    """Every problem the canvas should show at once: cycles, unreachable steps, missing
    adaptors or names, unparsable edge expressions, unknown credentials, then anything
    else the document parser refuses."""
    if not isinstance(document, dict):
        return [Problem("", "The builder sent no workflow document.")]
    jobs = document.get("jobs") if isinstance(document.get("jobs"), dict) else {}
    edges = document.get("edges") if isinstance(document.get("edges"), dict) else {}
    triggers = document.get("triggers") if isinstance(document.get("triggers"), dict) else {}
    problems = _job_problems(project_id, jobs)
    problems += _edge_problems(edges)
    problems += _cycle_problems(edges)
    problems += _reach_problems(triggers, jobs, edges)
    try:
        parse_document(document)
    except ServiceError as error:
        field = getattr(error, "field", "")
        if not any(p.path == field for p in problems):
            problems.append(Problem(field, error.message))
    return problems


def _job_problems(project_id: uuid.UUID, jobs: dict) -> list[Problem]:
    problems = []
    shared = _shared_names(project_id)
    for key, job in jobs.items():
        if not isinstance(job, dict):
            continue
        if not str(job.get("name") or "").strip():
            problems.append(Problem(f"jobs.{key}.name", "A step needs a name."))
        adaptor = job.get("adaptor")
        if not adaptor:
            problems.append(Problem(f"jobs.{key}.adaptor", "Choose an adaptor for this step."))
        elif adaptor_catalog.check_ref(str(adaptor)):
            problems.append(Problem(f"jobs.{key}.adaptor", adaptor_catalog.check_ref(adaptor)))
        credential = job.get("credential")
        if credential and credential not in shared:
            problems.append(
                Problem(
                    f"jobs.{key}.credential",
                    f"No credential named {credential!r} is shared into this project.",
                )
            )
    return problems


def _edge_problems(edges: dict) -> list[Problem]:
    problems = []
    for key, edge in edges.items():
        if isinstance(edge, dict) and edge.get("condition_type") == "expression":
            path = f"edges.{key}.condition_expression"
            try:
                check_condition_expression(edge.get("condition_expression"), path)
            except Invalid as error:
                problems.append(Problem(path, error.message))
    return problems


def _cycle_problems(edges: dict) -> list[Problem]:
    following: dict[str, list[tuple[str, str]]] = {}
    for key, edge in edges.items():
        if isinstance(edge, dict) and edge.get("source_job") and edge.get("target_job"):
            following.setdefault(edge["source_job"], []).append((key, edge["target_job"]))
    looping: set[str] = set()
    for key, edge in edges.items():
        if not isinstance(edge, dict) or not edge.get("source_job"):
            continue
        # The edge closes a cycle when its target leads back to its source.
        seen, todo = set(), [edge.get("target_job")]
        while todo:
            job = todo.pop()
            if job == edge["source_job"]:
                looping.add(key)
                break
            if job in seen:
                continue
            seen.add(job)
            todo.extend(target for _, target in following.get(job, []))
    return [
        Problem(f"edges.{key}", "This edge makes a cycle: a step must not lead back to itself.")
        for key in sorted(looping)
    ]


def _reach_problems(triggers: dict, jobs: dict, edges: dict) -> list[Problem]:
    if not triggers:
        return []
    reached: set[str] = set()
    todo = [
        e["target_job"]
        for e in edges.values()
        if isinstance(e, dict) and e.get("source_trigger") in triggers and e.get("target_job")
    ]
    while todo:
        job = todo.pop()
        if job in reached:
            continue
        reached.add(job)
        todo.extend(
            e["target_job"]
            for e in edges.values()
            if isinstance(e, dict) and e.get("source_job") == job and e.get("target_job")
        )
    return [
        Problem(
            f"jobs.{key}",
            "Nothing leads to this step: connect it to a trigger or another step.",
            "warning",
        )
        for key in jobs
        if key not in reached
    ]
