"""A dataclip as a file: the whole body, masked like the run page, streamed from the
database in pieces so that a 10 MB body never sits whole in the web process.

On PostgreSQL the body's text form (`body::text`, or the raw body) leaves the server through
`COPY ... TO STDOUT (FORMAT binary)` in rows of a million characters, which psycopg hands
over row by row; the binary framing around each row's field is stripped here. Elsewhere (the demo's
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
from app.services import zero_persistence
from app.services.errors import NotFound
from app.services.history.masked_chunks import masked_chunks
from app.services.history.run_page import run_masker

# One row per piece: COPY hands over whole rows, so a single 10 MB row would arrive whole.
# substr counts characters, so every piece is whole UTF-8.
_COPY = """COPY (
  WITH clip AS MATERIALIZED (
    SELECT COALESCE(raw_body, body::text) AS text FROM dataclips WHERE id = %(id)s)
  SELECT substr(clip.text, start, %(piece)s)
  FROM clip, generate_series(1, length(clip.text), %(piece)s) AS start ORDER BY start
) TO STDOUT (FORMAT binary)"""
PIECE_CHARS = 1024 * 1024
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
        select(
            Dataclip.wiped_at,
            Dataclip.raw_body.is_(None),
            Dataclip.content_type,
            Dataclip.not_stored,
        ).where(Dataclip.id == dataclip_id, Dataclip.project_id == project_id)
    ).first()
    if row is None:
        raise NotFound("This data no longer exists, so there is nothing to download.")
    wiped_at, is_json, content_type, not_stored = row
    if not_stored:
        raise NotFound(zero_persistence.NOT_STORED)
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
    params = {"id": dataclip_id, "piece": PIECE_CHARS}
    with connection.cursor() as cursor, cursor.copy(_COPY, params) as copy:
        yield from field_bytes(copy)


def field_bytes(stream: Iterable[bytes]) -> Iterator[bytes]:
    """The one field of each row of a binary COPY, row by row (NULL fields skipped), from
    the stream in whatever pieces it comes. Holds at most a row and a piece. Reads `stream`
    to its end (the trailer) so that the COPY finishes cleanly."""
    buffer, started, ended = bytearray(), False, False
    for piece in stream:
        buffer += piece
        if not started:
            if len(buffer) < _HEADER_SIZE:
                continue
            start = _HEADER_SIZE + int.from_bytes(buffer[_SIGNATURE_SIZE + 4 : _HEADER_SIZE])
            if len(buffer) < start:
                continue
            del buffer[:start]
            started = True
        while not ended and len(buffer) >= 2:
            if int.from_bytes(buffer[:2], signed=True) == -1:  # the trailer
                ended = True
                buffer.clear()
                break
            if len(buffer) < 6:
                break
            length = int.from_bytes(buffer[2:6], signed=True)
            end = 6 + max(length, 0)
            if len(buffer) < end:
                break
            if length > 0:
                yield bytes(buffer[6:end])
            del buffer[:end]
