"""Downloading a run's dataclip whole: the run page shows only a preview of a large body."""

from __future__ import annotations

import uuid

from flask import Response, stream_with_context
from flask_login import login_required

from app.services.history.dataclip_download import dataclip_download
from app.web.access import project_access
from app.web.history.blueprint import bp


@bp.get("/projects/<uuid:project_id>/runs/<uuid:run_id>/dataclips/<uuid:dataclip_id>/download")
@login_required
def download_dataclip(project_id: uuid.UUID, run_id: uuid.UUID, dataclip_id: uuid.UUID):
    """The dataclip as a file, streamed (viewers of the project may download)."""
    project_access(project_id)
    download = dataclip_download(project_id, run_id, dataclip_id)
    response = Response(stream_with_context(download.chunks), mimetype=download.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{download.filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
