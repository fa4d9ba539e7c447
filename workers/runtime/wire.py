"""Length-prefixed frames over pipes, between the Sandbox, its server and each step's child.

A frame is a 4-byte big-endian length, then one kind byte, then a JSON payload (UTF-8).
The kind byte lets the server relay a large result without parsing it.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time
from collections.abc import Sequence

REQUEST = b"Q"  # caller -> server: a StepRequest as a dict
LOG = b"L"  # child -> server -> caller: one LogLine as a dict
RESULT = b"R"  # child -> server -> caller: {"status", "state", "error"}
ACCEPTED = b"A"  # server -> caller: the request arrived, the step is starting (empty)
READY = b"H"  # server -> caller, once after start-up: {"failed": {module: why}}

_HEADER = struct.Struct(">I")
# A pipe holds 64 KiB, so no read returns more. Asking for more costs: CPython allocates the
# whole size first, and 1 MiB came from mmap (then mremap, munmap) on every read.
_READ_SIZE = 64 * 1024
# Frames above this are handed over in the reader's own buffer (a bytearray), not copied.
_HAND_OVER_ABOVE = 64 * 1024


class WireError(Exception):
    """The other end closed the pipe, sent garbage, or took too long."""


def encode(kind: bytes, payload: bytes) -> bytes:
    """One frame holding an already-encoded JSON payload."""
    return _HEADER.pack(len(payload) + 1) + kind + payload


def encode_json(kind: bytes, value: object) -> bytes:
    """One frame holding `value` as JSON."""
    return encode(kind, json.dumps(value, ensure_ascii=False).encode())


def write_frame(fd: int, kind: bytes, pieces: Sequence[bytes | bytearray | memoryview]) -> None:
    """One frame whose payload is `pieces` joined, written without joining them (a large
    state is not copied once more just to be framed)."""
    size = sum(len(piece) for piece in pieces)
    head = _HEADER.pack(size + 1) + kind
    if size <= _READ_SIZE:
        # One write for a small frame: each write wakes the reader, which then reads the
        # frame in parts (a step's result frame took 4 writes, so 4 wake-ups).
        write_all(fd, b"".join((head, *pieces)))
        return
    write_all(fd, head)
    for piece in pieces:
        write_all(fd, piece)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte; pipes may accept less than asked in one call."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


class FrameReader:
    """Reads frames from a pipe fd, with an optional deadline and a size cap per frame."""

    def __init__(self, fd: int, max_frame: int = 1 << 31) -> None:
        self.fd = fd
        self.max_frame = max_frame
        self._buffer = bytearray()
        self.total_bytes = 0

    def _frame_from_buffer(self) -> tuple[bytes, bytes] | None:
        if len(self._buffer) < _HEADER.size:
            return None
        (length,) = _HEADER.unpack_from(self._buffer)
        if length < 1 or length > self.max_frame:
            raise WireError(f"frame of {length} bytes is above the {self.max_frame} byte cap")
        end = _HEADER.size + length
        if len(self._buffer) < end:
            return None
        kind = bytes(self._buffer[_HEADER.size : _HEADER.size + 1])
        if end == len(self._buffer) and length > _HAND_OVER_ABOVE:
            # A large frame alone in the buffer: hand the buffer over rather than copy it
            # (deleting a bytearray's first bytes moves its start, not its contents).
            payload, self._buffer = self._buffer, bytearray()
            del payload[: _HEADER.size + 1]
            return kind, payload
        with memoryview(self._buffer) as view:
            payload = bytes(view[_HEADER.size + 1 : end])
        del self._buffer[:end]
        return kind, payload

    def read(self, deadline: float | None = None) -> tuple[bytes, bytes] | None:
        """The next (kind, payload); None at end of file; TimeoutError past `deadline`.
        A large payload may be a bytearray (bytes-like: json.loads and os.write take it)."""
        while True:
            frame = self._frame_from_buffer()
            if frame is not None:
                return frame
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                ready, _, _ = select.select([self.fd], [], [], remaining)
                if not ready:
                    raise TimeoutError
            chunk = os.read(self.fd, _READ_SIZE)
            if not chunk:
                if self._buffer:
                    raise WireError("the pipe closed in the middle of a frame")
                return None
            self.total_bytes += len(chunk)
            self._buffer += chunk


def human_size(size: int) -> str:
    """A size as people read it: 12.3 MB, 10 MB, 97.7 KB."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.3g} MB"
    return f"{size / 1024:.3g} KB"
