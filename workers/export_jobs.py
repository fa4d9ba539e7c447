"""RQ job: build one history export (queued by
`app.services.history.exports.lifecycle.request_export`)."""

from __future__ import annotations

import uuid

from app.extensions import db


def build_export(export_id: str) -> None:
    """Write the export's zip into its parts, mark it ready and mail the requester."""
    from app.services.history.exports import build as export_build

    try:
        export_build.build(uuid.UUID(export_id))
    finally:
        db.session.remove()
