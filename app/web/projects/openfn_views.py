"""Importing an OpenFn Lightning project.yaml from the browser: paste or upload it, see what
will be created and what is left to port, then create the project (you become its owner)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from app.services.errors import Invalid
from app.services.project_code import openfn
from app.services.workflows.shapes import Problem
from app.web.pasted_documents import pasted_or_uploaded
from app.web.projects.blueprint import bp
from app.web.projects.forms import OpenFnImportForm

# An upload larger than the biggest document the converter reads is refused unread.
MAX_UPLOAD = openfn.MAX_TEXT * 4
NOTHING_GIVEN = "Paste a Lightning project.yaml, or upload the file."
FLASH_JOBS = 12  # a flash lists this many jobs to port; the banners in the bodies say the rest


@bp.get("/projects/import/openfn")
@login_required
def openfn_form():
    """The form: paste or upload a Lightning project.yaml."""
    return render_template("projects/openfn_import.html", form=OpenFnImportForm())


@bp.post("/projects/import/openfn/preview")
@login_required
def openfn_preview():
    """What the import would create, and the notes; nothing is stored yet."""
    form = OpenFnImportForm()
    text = pasted_or_uploaded(form, MAX_UPLOAD, NOTHING_GIVEN)
    if text is None:
        return _page(form, status=422)
    try:
        document, notes = openfn.convert(text)
    except Invalid as error:
        return _page(form, problems=_problems(error), status=422)
    return _page(form, document=document, notes=notes)


@bp.post("/projects/import/openfn")
@login_required
def openfn_create():
    """Create the project from the document; land on its workflows with what to port."""
    form = OpenFnImportForm()
    text = pasted_or_uploaded(form, MAX_UPLOAD, NOTHING_GIVEN)
    if text is None:
        return _page(form, status=422)
    try:
        project, notes = openfn.import_project(text, current_user)
    except Invalid as error:
        return _page(form, problems=_problems(error), status=422)
    to_port = [n.subject for n in notes if n.kind == openfn.PORT]
    listed = "; ".join(to_port[:FLASH_JOBS])
    if len(to_port) > FLASH_JOBS:
        listed += f"; and {len(to_port) - FLASH_JOBS} more"
    flash(
        f"Project “{project.name}” created from OpenFn; you are its owner. "
        f"{len(to_port)} job(s) to port from JavaScript: {listed}.",
        "success",
    )
    credentials = openfn.credential_placeholders(notes)
    if credentials:
        flash(" ".join(credentials), "warning")
    return redirect(url_for("workflows.index", project_id=project.id))


def _problems(error: Invalid) -> list:
    return getattr(error, "problems", None) or [Problem(error.field, error.message)]


def _page(form, *, document=None, notes=(), problems=(), status: int = 200):
    html = render_template(
        "projects/openfn_import.html",
        form=form,
        workflows=openfn.summary(document) if document else [],
        document=document,
        notes=notes,
        problems=problems,
    )
    return html, status
