"""Running a function in a forked child, as the sandbox runs a step, and reading back its
result or its error as text: the sandbox tests share it."""

from __future__ import annotations

import os
from collections.abc import Callable


def in_child(function: Callable[[], object]) -> str:
    """`function()` in a forked child; its result or its error as text."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_fd)
            try:
                outcome = str(function())
            except BaseException as exc:
                outcome = f"{type(exc).__name__}: {exc}"
            os.write(write_fd, outcome.encode()[:60000])
        finally:
            os._exit(0)
    os.close(write_fd)
    chunks = []
    while chunk := os.read(read_fd, 65536):
        chunks.append(chunk)
    os.close(read_fd)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode()
