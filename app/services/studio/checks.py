"""The builder's canvas check: every problem of the unsaved document at once, each with the
document path of the node or edge it concerns, so the canvas can mark it.

It is the document parser's own check (`workflows.documents.check_document`) plus the one
that needs the database (`workflows.store.resolve_credentials`), so the canvas, saving, the
API and YAML import say the same thing about the same mistake.
"""

from __future__ import annotations

import uuid

from app.services.workflows import store
from app.services.workflows.documents import Problem, check_document

__all__ = ["Problem", "validate_canvas"]


def validate_canvas(project_id: uuid.UUID, document: object) -> list[Problem]:
    """Every problem the canvas should show: errors first (credential names among them),
    then warnings such as steps nothing leads to."""
    if not isinstance(document, dict):
        return [Problem("", "The builder sent no workflow document.")]
    checked = check_document(document)
    _, credential_problems = store.resolve_credentials(project_id, checked.document)
    return checked.errors + credential_problems + checked.warnings
