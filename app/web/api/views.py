"""The API's routes, one module per resource; importing them registers them on `bp`."""

from __future__ import annotations

import app.web.api.project_documents  # noqa: F401 -- routes
from app.web.api import (  # noqa: F401 -- routes
    egress,
    openapi,
    openfn,
    projects,
    run_limits,
    runs,
    workflows,
)
from app.web.api.blueprint import bp

__all__ = ["bp"]
