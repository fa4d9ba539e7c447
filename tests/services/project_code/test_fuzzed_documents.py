"""Exports mangled at random (values of the wrong kind, paths, ids, unknown keys, in any
place) are planned and applied, to an existing project or as a new one: each is either
applied or refused with its problems, never an unexpected error."""

from __future__ import annotations

import random

from app.services.project_code import document, importing
from app.services.project_code.importing import ProjectDocumentInvalid
from tests.services.project_code.sample_project import sample_project

VALUES = [
    None,
    True,
    0,
    -1,
    10**20,
    1.5,
    "",
    "x",
    "../x",
    [],
    [1, "a"],
    {},
    {"path": "../x"},
    {"a": 1},
    "\u202e",
    "a" * 300,
]
ODD_KEYS = ["id", "delete", "lock_version", "zzz", 5, None]


def mangle(value, rng):
    """`value` with one place somewhere inside it replaced (or a key added)."""
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(list(value))
        value[key] = mangle(value[key], rng)
        if rng.random() < 0.1:
            value[rng.choice(ODD_KEYS)] = rng.choice(VALUES)
        return value
    if isinstance(value, list) and value and rng.random() < 0.5:
        value[rng.randrange(len(value))] = rng.choice(VALUES)
        return value
    return rng.choice(VALUES)


def test_mangled_documents_are_applied_or_refused_with_problems(user):
    clinic = sample_project(user)
    rng = random.Random(7)
    for _ in range(60):
        doc = document.export_project(clinic.id, with_ids=rng.random() < 0.5)
        for _ in range(rng.randint(1, 4)):
            doc = mangle(doc, rng)
        target = None if rng.random() < 0.3 else clinic.id
        try:
            importing.plan_project(doc, target, actor=user)
        except ProjectDocumentInvalid as refused:
            assert all(p.message for p in refused.problems)
            continue
        importing.apply_project(doc, user, project_id=target)  # planned, so it applies
