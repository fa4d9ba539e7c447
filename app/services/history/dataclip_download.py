"""A dataclip as a file: the whole body, masked like the run page, streamed from the
database in pieces so that a 10 MB body never sits whole in the web process.

On PostgreSQL the body's text form (`body::text`, or the raw body) leaves the server through
`COPY ... TO STDOUT (FORMAT binary)`, which psycopg hands over in the pieces the server
sends; the binary framing around the single field is stripped here. Elsewhere (the demo's
SQLite) the text is read in one piece.
"""

from __future__ import annotations

import codecs
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from sqlalchemy import select

from app import db_direct
from app.extensions import db
from app.models import Dataclip, Run
from app.scrub import Scrubber
from app.services.errors import NotFound
from app.services.history.masked_chunks import masked_chunks
from app.services.history.run_page import run_masker

_COPY = (
    "COPY (SELECT COALESCE(raw_body, body::text) FROM dataclips WHERE id = %s) "
    "TO STDOUT (FORMAT binary)"
)
# PGCOPY\n\377\r\n\0, then 4 bytes of flags and 4 of header-extension length.
_SIGNATURE_SIZE, _HEADER_SIZE = 11, 19


@dataclass(frozen=True)
class Download:
    """What the download answers: a file name, its type, and the body in pieces."""

    filename: str
    mimetype: str
    chunks: Iterator[bytes]


def dataclip_download(project_id: uuid.UUID, run_id: uuid.UUID, dataclip_id: uuid.UUID) -> Download:
    """The dataclip of a run of the project, masked with the run page's masker; NotFound
    (with a sentence) for another project's run or dataclip, a wiped or an empty one."""
    snapshot_id = db.session.scalar(
        select(Run.snapshot_id).where(Run.id == run_id, Run.project_id == project_id)
    )
    if snapshot_id is None:
        raise NotFound("There is no such run in this project.")
    row = db.session.execute(
        select(Dataclip.wiped_at, Dataclip.raw_body.is_(None), Dataclip.content_type).where(
            Dataclip.id == dataclip_id, Dataclip.project_id == project_id
        )
    ).first()
    if row is None:
        raise NotFound("This data no longer exists, so there is nothing to download.")
    wiped_at, is_json, content_type = row
    if wiped_at is not None:
        raise NotFound("This data was wiped by the project's data retention policy.")
    masker = run_masker(project_id, [snapshot_id])
    name = f"dataclip-{str(dataclip_id)[:8]}"
    if is_json:
        return Download(f"{name}.json", "application/json", _body(dataclip_id, masker))
    mimetype = content_type if content_type and content_type.startswith("text/") else "text/plain"
    return Download(f"{name}.txt", mimetype, _body(dataclip_id, masker))


def _body(dataclip_id: uuid.UUID, masker: Scrubber) -> Iterator[bytes]:
    pieces = _pieces_postgresql(dataclip_id) if db_direct.on_postgresql() else _pieces(dataclip_id)
    if not masker:
        yield from pieces  # nothing to mask: the bytes go out as the database sent them
        return
    decoder = codecs.getincrementaldecoder("utf-8")()
    text = (decoder.decode(piece) for piece in pieces)
    for masked in masked_chunks(text, masker):
        yield masked.encode()


def _pieces(dataclip_id: uuid.UUID) -> Iterator[bytes]:
    clip = db.session.get(Dataclip, dataclip_id)
    if clip.raw_body is not None:
        yield clip.raw_body.encode()
    elif clip.body is not None:
        import json

        yield json.dumps(clip.body, ensure_ascii=False).encode()


def _pieces_postgresql(dataclip_id: uuid.UUID) -> Iterator[bytes]:
    connection = db.session.connection().connection.driver_connection
    with connection.cursor() as cursor, cursor.copy(_COPY, (dataclip_id,)) as copy:
        yield from field_bytes(bytes(piece) for piece in copy)


def field_bytes(stream: Iterable[bytes]) -> Iterator[bytes]:
    """The bytes of the one field of the one row of a binary COPY, in the pieces they came
    in; nothing when there is no row or the field is NULL. Reads `stream` to its end (the
    trailer) so that the COPY finishes cleanly."""
    head, remaining = b"", None
    for piece in stream:
        if remaining is None:
            head += piece
            start = _row_start(head)
            if start is None or len(head) < start + 6:
                continue
            fields = int.from_bytes(head[start : start + 2], signed=True)
            length = int.from_bytes(head[start + 2 : start + 6], signed=True)
            remaining = max(length, 0) if fields == 1 else 0
            piece, head = head[start + 6 :], b""
        if remaining:
            part = piece[:remaining]
            remaining -= len(part)
            yield part


def _row_start(head: bytes) -> int | None:
    if len(head) < _HEADER_SIZE:
        return None
    return _HEADER_SIZE + int.from_bytes(head[_SIGNATURE_SIZE + 4 : _HEADER_SIZE])
