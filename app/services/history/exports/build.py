"""The history export job: work orders matching the stored filter, newest first by keyset, in
batches written to JSON Lines files on disk, then zipped (ZIP_DEFLATED) straight into the
database in parts of PART_SIZE bytes. Neither the records nor the zip are ever held whole in
memory. Each batch and each part commits the row's progress, so the exports page shows it and
a silent row means a dead worker (`exports.sweep` marks it failed).
"""

from __future__ import annotations

import io
import json
import logging
import shutil
import tempfile
import uuid
import zipfile
from contextlib import ExitStack
from datetime import datetime
from importlib import metadata

from sqlalchemy import delete, insert, select, tuple_, update

from app.extensions import db
from app.models import (
    HistoryExport,
    HistoryExportPart,
    HistoryExportState,
    Project,
    WorkOrder,
)
from app.models.base import utcnow
from app.services.history import listing
from app.services.history.exports import mail as export_mail
from app.services.history.exports import records as export_records
from app.services.history.exports.filters import StoredArgs
from app.services.history.exports.lifecycle import VALID_FOR
from app.services.history.filters import parse_filter

log = logging.getLogger("ferry.history_exports")

BATCH = 200  # work orders per batch: their runs, steps, logs and dataclips load together
PART_SIZE = 1024 * 1024
MAX_WORK_ORDERS = 1_000_000
COPY_CHUNK = 256 * 1024


def build(export_id: uuid.UUID | str) -> None:
    """The job: build the export's zip, mark it ready and mail the requester; a failure
    marks the row failed with a plain reason and is raised again for the worker's log."""
    export_id = export_id if isinstance(export_id, uuid.UUID) else uuid.UUID(str(export_id))
    started = db.session.execute(
        update(HistoryExport)
        .where(HistoryExport.id == export_id, HistoryExport.state == HistoryExportState.QUEUED)
        .values(state=HistoryExportState.RUNNING, updated_at=utcnow())
    )
    db.session.commit()
    if started.rowcount == 0:
        log.info("history export %s is not queued (gone, failed or done): nothing to do", export_id)
        return
    try:
        ready = _build(export_id)
    except Exception as error:
        db.session.rollback()
        _fail(export_id, error)
        raise
    if ready:
        export_mail.send_ready(export_id)


def _build(export_id: uuid.UUID) -> bool:
    export = db.session.get(HistoryExport, export_id)
    project_id, include_dataclips = export.project_id, export.include_dataclips
    filters = parse_filter(StoredArgs(export.filters or {}))
    # Work orders arriving meanwhile are left out, so "n of total" can end.
    as_of = utcnow()
    found = listing.count_matching(project_id, filters, cap=MAX_WORK_ORDERS)
    _move(export_id, total=found.value)
    with tempfile.TemporaryDirectory(prefix="ferry-export-") as folder, ExitStack() as files:
        out = {
            name: export_records.Lines(files.enter_context(open(f"{folder}/{name}.jsonl", "w+b")))
            for name in export_records.FILES
            if name != "dataclips" or include_dataclips
        }
        done, cursor, shared = 0, None, set()
        while done < MAX_WORK_ORDERS:
            query = (
                listing.matching_query(project_id, filters, min(BATCH, MAX_WORK_ORDERS - done))
                .add_columns(WorkOrder.inserted_at)
                .where(WorkOrder.inserted_at <= as_of)
            )
            if cursor is not None:
                query = query.where(
                    WorkOrder.inserted_at <= cursor[0],
                    tuple_(WorkOrder.inserted_at, WorkOrder.id) < tuple_(*cursor),
                )
            batch = db.session.execute(query).all()
            if not batch:
                break
            ids = [row[0] for row in batch]
            export_records.write_batch(
                project_id, ids, out, include_dataclips=include_dataclips, shared_written=shared
            )
            done += len(ids)
            cursor = (batch[-1][1], batch[-1][0])
            _move(export_id, done=done)
        counts = {f"{name}.jsonl": lines.count for name, lines in out.items()}
        manifest = _manifest(export, project_id, counts, as_of, found.more)
        size = _zip(export_id, manifest, {f"{n}.jsonl": lines.file for n, lines in out.items()})
    now = utcnow()
    # Only a row still running becomes ready: the sweep may have given up on a job this slow
    # (and will delete its parts), and the page already says it failed.
    finished = db.session.execute(
        update(HistoryExport)
        .where(HistoryExport.id == export_id, HistoryExport.state == HistoryExportState.RUNNING)
        .values(
            state=HistoryExportState.READY,
            total=done,
            done=done,
            size_bytes=size,
            error=None,
            updated_at=now,
            finished_at=now,
            expires_at=now + VALID_FOR,
        )
    )
    db.session.commit()
    if finished.rowcount == 0:
        log.warning(
            "history export %s was given up on while it ran: its file is dropped", export_id
        )
    return finished.rowcount == 1


def _zip(export_id: uuid.UUID, manifest: dict, members: dict) -> int:
    """Zip the manifest and the member files into the export's parts; returns the size."""
    writer = PartWriter(export_id)
    with zipfile.ZipFile(writer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        for name, file in members.items():
            file.seek(0)
            with archive.open(name, "w", force_zip64=True) as member:
                shutil.copyfileobj(file, member, COPY_CHUNK)
    writer.finish()
    return writer.written


class PartWriter(io.RawIOBase):
    """A write-only, unseekable file whose bytes become HistoryExportPart rows of PART_SIZE,
    each committed with a touch of the export's `updated_at` (zipfile then writes data
    descriptors instead of seeking back)."""

    def __init__(self, export_id: uuid.UUID, part_size: int = PART_SIZE) -> None:
        super().__init__()
        self.export_id, self.part_size = export_id, part_size
        self.buffer, self.seq, self.written = bytearray(), 0, 0

    def writable(self) -> bool:
        """It is written to."""
        return True

    def write(self, data) -> int:
        """Take `data`; full parts go to the database."""
        self.buffer += data
        self.written += len(data)
        while len(self.buffer) >= self.part_size:
            self._store(bytes(self.buffer[: self.part_size]))
            del self.buffer[: self.part_size]
        return len(data)

    def tell(self) -> int:
        """Bytes written so far (zipfile records offsets with it)."""
        return self.written

    def finish(self) -> None:
        """Store what is left as the last part."""
        if self.buffer:
            self._store(bytes(self.buffer))
            self.buffer.clear()

    def _store(self, data: bytes) -> None:
        db.session.execute(
            insert(HistoryExportPart).values(export_id=self.export_id, seq=self.seq, data=data)
        )
        self.seq += 1
        _move(self.export_id)


def _move(export_id: uuid.UUID, **values) -> None:
    """Commit progress (and prove the worker alive) on the row."""
    db.session.execute(
        update(HistoryExport)
        .where(HistoryExport.id == export_id)
        .values(updated_at=utcnow(), **values)
    )
    db.session.commit()


def _manifest(
    export: HistoryExport, project_id: uuid.UUID, counts: dict, as_of: datetime, more: bool
) -> dict:
    project = db.session.execute(
        select(Project.id, Project.name).where(Project.id == project_id)
    ).one()
    try:
        version = metadata.version("ferry")
    except metadata.PackageNotFoundError:
        version = None
    return {
        "format": "ferry-history-export/1",
        "project": {"id": str(project.id), "name": project.name},
        "filter": export.filters or {},
        "include_dataclips": export.include_dataclips,
        "received_up_to": as_of.isoformat(),
        "truncated_at": MAX_WORK_ORDERS if more else None,
        "counts": counts,
        "generated_at": utcnow().isoformat(),
        "ferry_version": version,
        "notes": "One JSON object per line. Credential values are masked as ***; a wiped "
        "dataclip has only its id and wiped_at.",
    }


def _fail(export_id: uuid.UUID, error: Exception) -> None:
    # The kind of error only: its text may quote data. The worker's log has the rest.
    reason = f"The export failed ({type(error).__name__}); the worker's log has the details."
    now = utcnow()
    db.session.execute(delete(HistoryExportPart).where(HistoryExportPart.export_id == export_id))
    db.session.execute(
        update(HistoryExport)
        .where(HistoryExport.id == export_id)
        .values(state=HistoryExportState.FAILED, error=reason, updated_at=now, finished_at=now)
    )
    db.session.commit()
