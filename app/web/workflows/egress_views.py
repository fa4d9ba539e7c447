"""The builder's egress warning: which addresses the step being built (its code, the request
builder's fields, its credential) names that the project's allowlist does not open. The
request builder's form and the step panel both load it while the analyst types."""

from __future__ import annotations

import uuid

from flask import render_template, request
from flask_login import login_required

from app.models import Role
from app.services.egress import warnings as egress_warnings
from app.web.access import project_access
from app.web.workflows.blueprint import bp

# Form fields that never hold an address the step would reach.
_NOT_SCANNED = {"csrf_token", "credential", "adaptor", "operation", "line_row"}


@bp.post("/egress-warnings")
@login_required
def egress_warnings_fragment(project_id: uuid.UUID):
    """The warning above the step's code (or under the request form); empty when every
    address the step names may be reached. Any member may see why a step would fail."""
    access = project_access(project_id)
    texts = [
        value for key, values in request.form.lists() if key not in _NOT_SCANNED for value in values
    ]
    # The step panel sends the step's `body`; the request builder its fields.
    where = "the step's code" if "body" in request.form else "this form"
    credential = request.form.get("credential") or None
    found = egress_warnings.for_step(project_id, texts, credential, where)
    return render_template(
        "workflows/_egress_warnings.html",
        warnings=found,
        project=access.project,
        can_admin=access.can(Role.ADMIN),
    )
