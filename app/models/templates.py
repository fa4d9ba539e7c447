"""Workflow templates saved for the whole instance: a starting point on "New workflow".

Ferry's own templates (the workflows in `examples/`) ship as files; these rows are the ones a
project admin saved from a workflow of theirs. A template is the workflow's exported document
(no credentials, no ids) plus a sample input, so "Run" works at once on a copy.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import created_at, updated_at, uuid_pk


class WorkflowTemplate(db.Model):
    """A workflow saved as a template for every project of the instance."""

    __tablename__ = "workflow_templates"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    description: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # The workflow document (YAML) as the export writes it: no credentials, no ids.
    document: Mapped[str] = mapped_column(sa.Text)
    # A JSON text given to the first step when the template's workflow is run as is.
    sample_input: Mapped[str | None] = mapped_column(sa.Text)
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    source_project_id: Mapped[uuid.UUID | None] = mapped_column(
        sa.ForeignKey("projects.id", ondelete="SET NULL")
    )
    inserted_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()
