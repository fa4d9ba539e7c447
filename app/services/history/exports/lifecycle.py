"""History exports: a project's work orders, runs, steps, logs and (optionally) dataclips for a
history filter, built by a background job into a zip of JSON Lines kept in the database.

Who may export or download: every member who may see the project's history (viewers and up,
as on the history page), since the zip holds nothing a viewer cannot already open run by run.
The web layer checks that role on every request, the download included, so a member removed
after asking can no longer fetch the file. The job (`exports.build.build`) moves the row's
progress; this module asks for exports, lists them, serves them and retires old ones.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select, update

from app.extensions import DEFAULT_QUEUE, db, queue
from app.models import (
    HistoryExport,
    HistoryExportPart,
    HistoryExportState,
    Project,
    User,
    Workflow,
)
from app.models.base import utcnow
from app.services import audit
from app.services.errors import Conflict, NotFound, ServiceError
from app.services.history.exports.filters import stored_filter, summary
from app.services.history.filters import QueryArgs, parse_filter
from app.services.history.json_preview import human_size

EXPORT_JOB = "workers.export_jobs.build_export"
JOB_TIMEOUT_S = 4 * 3600
VALID_FOR = timedelta(days=1)
# Every batch and every part moves `updated_at`; an open export silent this long lost its
# worker (or its queue entry) and is marked failed, so no page shows a spinner for ever.
STALE_AFTER = timedelta(hours=1)
STALE_MESSAGE = (
    "The export stopped: no worker moved it for an hour (it may have been restarted). "
    "Request it again."
)
MAX_OPEN_PER_PROJECT = 3  # exports waiting or running at once: each holds a worker a while
MAX_SHOWN = 20
SWEEP_BATCH = 20  # exports whose parts one sweep transaction deletes
AUDIT_ITEM = "history_export"
_OPEN = (HistoryExportState.QUEUED, HistoryExportState.RUNNING)


class ExportExpired(ServiceError):
    """The export's download link has lapsed (the page answers 410 Gone)."""


@dataclass(frozen=True)
class ExportView:
    """An export as the exports page shows it, read from its row."""

    id: uuid.UUID
    state: str
    total: int
    done: int
    size_bytes: int | None
    error: str | None
    include_dataclips: bool
    filter_summary: str
    filter_args: dict
    requested_by: str | None
    inserted_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    expires_at: datetime | None

    @property
    def open(self) -> bool:
        """True while the job has yet to finish (the page keeps asking)."""
        return self.state in ("queued", "running")

    @property
    def expired(self) -> bool:
        """True once the download link has lapsed (even before the sweeper noticed)."""
        lapsed = self.expires_at is not None and _aware(self.expires_at) <= utcnow()
        return self.state == "expired" or (self.state == "ready" and lapsed)

    @property
    def ready(self) -> bool:
        """True when the file can be downloaded."""
        return self.state == "ready" and not self.expired

    @property
    def size_label(self) -> str:
        """The zip's size as people read it ("3.2 MB")."""
        return human_size(self.size_bytes or 0)

    @property
    def percent(self) -> int:
        """How much is done, 0..100."""
        if not self.total:
            return 100 if self.ready else 0
        return min(100, round(100 * self.done / self.total))


@dataclass(frozen=True)
class Download:
    """A ready export as a file: its name, size and parts in order."""

    filename: str
    size: int
    chunks: Iterator[bytes]


def request_export(
    actor_id: uuid.UUID | None, project_id: uuid.UUID, args: QueryArgs, include_dataclips: bool
) -> uuid.UUID:
    """Store an export of the work orders matching the history filter in `args`, audit it,
    and queue its job; returns its id. Invalid names a filter argument at fault."""
    filters = parse_filter(args)
    waiting = db.session.scalar(
        select(func.count()).where(
            HistoryExport.project_id == project_id, HistoryExport.state.in_(_OPEN)
        )
    )
    if waiting >= MAX_OPEN_PER_PROJECT:
        raise Conflict(
            f"This project already has {waiting} exports on the way; wait for one to finish "
            "before asking for another."
        )
    export = HistoryExport(
        project_id=project_id,
        requested_by_id=actor_id,
        filters=filters.to_args(),
        include_dataclips=bool(include_dataclips),
    )
    db.session.add(export)
    db.session.flush()
    changes = {"filter": summary(filters), "include_dataclips": bool(include_dataclips)}
    audit.record(AUDIT_ITEM, export.id, "requested", actor_id, changes, project_id=project_id)
    db.session.commit()
    queue(DEFAULT_QUEUE).enqueue(EXPORT_JOB, str(export.id), job_timeout=JOB_TIMEOUT_S)
    return export.id


def recent(project_id: uuid.UUID) -> list[ExportView]:
    """The project's latest exports, newest first."""
    rows = list(
        db.session.scalars(
            select(HistoryExport)
            .where(HistoryExport.project_id == project_id)
            .order_by(HistoryExport.inserted_at.desc(), HistoryExport.id.desc())
            .limit(MAX_SHOWN)
        )
    )
    return _views(rows)


def get(project_id: uuid.UUID, export_id: uuid.UUID) -> ExportView:
    """One export of the project; NotFound for another project's or an unknown id."""
    return _views([_row(project_id, export_id)])[0]


def download(project_id: uuid.UUID, export_id: uuid.UUID, actor_id: uuid.UUID | None) -> Download:
    """The export's zip as parts read one by one; ExportExpired once its day is over,
    Conflict while it is not ready. The download is audited (it carries personal data)."""
    export = _row(project_id, export_id)
    if export.state is HistoryExportState.EXPIRED or (
        export.state is HistoryExportState.READY and _aware(export.expires_at) <= utcnow()
    ):
        raise ExportExpired(
            "This export has expired: its download link worked for a day. "
            "Request a new export from the history page."
        )
    if export.state is not HistoryExportState.READY:
        raise Conflict("This export is not ready, so there is nothing to download yet.")
    parts = db.session.scalar(select(func.count()).where(HistoryExportPart.export_id == export.id))
    size, day = export.size_bytes or 0, _aware(export.finished_at or export.inserted_at)
    slug = _slug(db.session.scalar(select(Project.name).where(Project.id == project_id)) or "")
    audit.record(AUDIT_ITEM, export.id, "downloaded", actor_id, {}, project_id=project_id)
    db.session.commit()
    filename = f"ferry-history-{slug}-{day.strftime('%Y-%m-%d')}.zip"
    return Download(filename, size, _parts(export.id, parts))


def _parts(export_id: uuid.UUID, count: int) -> Iterator[bytes]:
    # One part (a megabyte) per query, so the web process never holds the whole file.
    for seq in range(count):
        data = db.session.scalar(
            select(HistoryExportPart.data).where(
                HistoryExportPart.export_id == export_id, HistoryExportPart.seq == seq
            )
        )
        if data is None:
            return  # expired while streaming: the client sees a short file and can retry
        yield bytes(data)


def sweep() -> int:
    """The scheduler's task: retire exports whose link lapsed (parts deleted, row kept as
    expired), drop the parts of failed ones, and fail open exports silent for STALE_AFTER.
    Returns how many exports changed."""
    now = utcnow()
    stale = db.session.execute(
        update(HistoryExport)
        .where(HistoryExport.state.in_(_OPEN), HistoryExport.updated_at < now - STALE_AFTER)
        .values(state=HistoryExportState.FAILED, error=STALE_MESSAGE, finished_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    changed = stale
    while True:
        ids = list(
            db.session.scalars(
                select(HistoryExport.id)
                .where(
                    (
                        (HistoryExport.state == HistoryExportState.READY)
                        & (HistoryExport.expires_at <= now)
                    )
                    | (
                        HistoryExport.state.in_(
                            (HistoryExportState.FAILED, HistoryExportState.EXPIRED)
                        )
                        & select(HistoryExportPart.seq)
                        .where(HistoryExportPart.export_id == HistoryExport.id)
                        .exists()
                    )
                )
                .limit(SWEEP_BATCH)
            )
        )
        if not ids:
            return changed
        db.session.execute(delete(HistoryExportPart).where(HistoryExportPart.export_id.in_(ids)))
        db.session.execute(
            update(HistoryExport)
            .where(HistoryExport.id.in_(ids), HistoryExport.state == HistoryExportState.READY)
            .values(state=HistoryExportState.EXPIRED, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        changed += len(ids)


def _views(rows: list[HistoryExport]) -> list[ExportView]:
    parsed = {row.id: stored_filter(row.filters) for row in rows}
    workflow_ids = {f.workflow_id for f in parsed.values() if f.workflow_id}
    names = (
        dict(
            db.session.execute(
                select(Workflow.id, Workflow.name).where(Workflow.id.in_(workflow_ids))
            ).all()
        )
        if workflow_ids
        else {}
    )
    user_ids = {row.requested_by_id for row in rows if row.requested_by_id}
    people = (
        {
            key: name or email
            for key, name, email in db.session.execute(
                select(User.id, User.name, User.email).where(User.id.in_(user_ids))
            )
        }
        if user_ids
        else {}
    )
    return [
        ExportView(
            id=row.id,
            state=row.state.value,
            total=row.total,
            done=row.done,
            size_bytes=row.size_bytes,
            error=row.error,
            include_dataclips=row.include_dataclips,
            filter_summary=summary(parsed[row.id], names),
            filter_args=parsed[row.id].to_args(),
            requested_by=people.get(row.requested_by_id),
            inserted_at=row.inserted_at,
            updated_at=row.updated_at,
            finished_at=row.finished_at,
            expires_at=row.expires_at,
        )
        for row in rows
    ]


def _row(project_id: uuid.UUID, export_id: uuid.UUID) -> HistoryExport:
    export = db.session.get(HistoryExport, export_id)
    if export is None or export.project_id != project_id:
        raise NotFound("There is no such export in this project.")
    return export


def _aware(moment: datetime | None) -> datetime:
    """SQLite (the demo database) hands back naive UTC moments."""
    moment = moment or utcnow()
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _slug(name: str) -> str:
    words = "".join(c.lower() if c.isalnum() else " " for c in name).split()
    return "-".join(words)[:60] or "project"
