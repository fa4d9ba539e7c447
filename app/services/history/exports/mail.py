"""The "your history export is ready" mail, sent to whoever asked once the job has finished.

It goes only to a requester who may still see the project's history (a member, or a
superuser): the link would refuse anyone else. Links are absolute (BASE_URL), since the mail
is written by a worker, outside any request.
"""

from __future__ import annotations

import logging
import uuid

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.models import HistoryExport, Project, User
from app.services import mail
from app.services.history.json_preview import human_size
from app.services.projects import role_in_project

log = logging.getLogger("ferry.history_exports")


def send_ready(export_id: uuid.UUID) -> uuid.UUID | None:
    """Mail the requester the links to the exports page and the download; returns the
    message id, or None when nobody may receive it. A mail failure never fails the export."""
    try:
        return _send(export_id)
    except Exception:
        log.exception("the ready mail of history export %s was not sent", export_id)
        db.session.rollback()
        return None


def _send(export_id: uuid.UUID) -> uuid.UUID | None:
    export = db.session.get(HistoryExport, export_id)
    user = db.session.get(User, export.requested_by_id) if export.requested_by_id else None
    if user is None or not user.email:
        return None
    if role_in_project(user, export.project_id) is None and not user.is_superuser:
        return None  # removed from the project since asking
    project_name = db.session.scalar(select(Project.name).where(Project.id == export.project_id))
    base = current_app.config["FERRY_SETTINGS"].base_url.rstrip("/")
    exports_url = f"{base}/projects/{export.project_id}/history/exports"
    rendered = mail.render_mail(
        "history_export_ready",
        project_name=project_name,
        work_orders=export.done,
        size=human_size(export.size_bytes or 0),
        include_dataclips=export.include_dataclips,
        exports_url=exports_url,
        download_url=f"{exports_url}/{export.id}/download",
        expires_at=export.expires_at.strftime("%d %b %Y %H:%M UTC"),
    )
    return mail.send_mail(user.email, rendered.subject, rendered.text, html=rendered.html)
