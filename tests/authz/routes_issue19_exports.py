"""Matrix entries for issue 19's history exports: every member who may see the history
(viewers and up) may ask for an export, follow it and download it; outsiders get 404, and
another project's export is a 404 under this project's URL."""

from __future__ import annotations

from app.extensions import db
from app.models import HistoryExport, HistoryExportPart, HistoryExportState
from app.models.base import utcnow
from app.services.history.exports.lifecycle import VALID_FOR
from tests.authz.rules import Rule


def _ready_export(world):
    """A ready export of world.project with one part (made inside the case's savepoint)."""
    now = utcnow()
    export = HistoryExport(
        project_id=world.project.id,
        state=HistoryExportState.READY,
        total=1,
        done=1,
        size_bytes=3,
        finished_at=now,
        expires_at=now + VALID_FOR,
    )
    db.session.add(export)
    db.session.flush()
    db.session.add(HistoryExportPart(export_id=export.id, seq=0, data=b"zip"))
    db.session.flush()
    return export.id


ROUTES = {
    "history.exports_page": Rule("viewer"),
    "history.export_start": Rule("viewer", data={"state": "failed"}),
    "history.export_row": Rule("viewer"),
    "history.export_download": Rule("viewer"),
}
PARAMS = {"export_id": _ready_export}
