"""The request builder's fragments: the form for one operation (empty, or filled from an
operation of the body), the code it writes, and the input's field paths its "From input"
fields offer. The data mapper's fragments are in sample_views.

Written code travels in the `ferry:insert-line` event (HX-Trigger), which the Studio's
script puts into the step body (over the rows `row`..`end` it was opened from): the body
lives in the browser's editor until saved."""

from __future__ import annotations

import uuid

from flask import make_response, render_template, request
from flask_login import login_required

from app.models import Role
from app.services.errors import Invalid
from app.services.studio import reopen, request_builder, run_panel
from app.web import htmx
from app.web.access import project_access
from app.web.workflows.blueprint import bp


def _message(message: str):
    """422 with the message shown above the request builder's form."""
    html = render_template("workflows/_rb_message.html", message=message)
    return htmx.retarget(make_response(html, 422), "#rb-message")


def _form(project_id: uuid.UUID, form, rows=(None, None), error=None, status=200):
    html = render_template(
        "workflows/_request_form.html",
        form=form,
        line_row=rows[0],
        line_end=rows[1] if rows[1] is not None else rows[0],
        error=error,
        ids={"project_id": project_id},
    )
    return make_response(html, status)


def _row(name: str) -> int | None:
    value = request.form.get(name, "")
    return int(value) if value.isdigit() and len(value) < 7 else None


def _line_rows() -> tuple[int | None, int | None]:
    """The editor rows a reopened form writes back over (None: insert new lines)."""
    first = _row("line_row")
    last = _row("line_end")
    return first, last if first is not None and last is not None and last >= first else first


@bp.get("/request-form")
@login_required
def request_form(project_id: uuid.UUID):
    """An empty request form for one operation of an adaptor."""
    project_access(project_id, Role.EDITOR)
    try:
        form = request_builder.form_for(
            request.args.get("adaptor", ""), request.args.get("operation", "")
        )
    except Invalid as error:
        return _message(error.message)
    return _form(project_id, form)


@bp.post("/request-form")
@login_required
def reopen_line(project_id: uuid.UUID):
    """The request form filled from a line of the body, or why the line cannot be reopened."""
    project_access(project_id, Role.EDITOR)
    rows = _line_rows()
    line = request.form.get("line", "")
    try:
        if "body" in request.form:  # the whole body and the cursor's row: find the statement
            found = reopen.statement_at(
                request.form["body"], rows[0] if rows[0] is not None else -1
            )
            line, rows = found.text, (found.first, found.last)
        if not line.strip():
            raise Invalid("line", "Put the cursor on a line the form wrote, then press Edit line.")
        form = reopen.parse_line(request.form.get("adaptor", ""), line)
    except Invalid as error:
        return _message(error.message)
    return _form(project_id, form, rows)


@bp.post("/request-line")
@login_required
def request_line(project_id: uuid.UUID):
    """The line of code the request form describes (sent in the `ferry:insert-line` event, the
    form closing), or the form again with the message at the field to fix."""
    project_access(project_id, Role.EDITOR)
    adaptor, operation = request.form.get("adaptor", ""), request.form.get("operation", "")
    try:
        line = request_builder.line_from_form(adaptor, operation, request.form)
    except Invalid as error:
        try:
            form = request_builder.form_with_values(adaptor, operation, request.form)
        except Invalid:
            return _message(error.message)  # not even the form can be shown
        return _form(project_id, form, _line_rows(), error=error, status=422)
    first, last = _line_rows()
    detail = {"line": line, "row": first, "end": last}
    return htmx.trigger(make_response(""), "ferry:insert-line", detail)


@bp.get("/<uuid:workflow_id>/input-paths")
@login_required
def input_paths(project_id: uuid.UUID, workflow_id: uuid.UUID):
    """Field paths of the workflow's latest input, for 'value from input' pickers."""
    project_access(project_id)
    paths = run_panel.input_paths(workflow_id, project_id)
    ids = {"project_id": project_id, "workflow_id": workflow_id}
    return render_template("workflows/_input_datalist.html", paths=paths, ids=ids)


# The data mapper's fragments register on the same blueprint.
from app.web.workflows import sample_views  # noqa: E402, F401
