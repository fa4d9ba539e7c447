"""Who is "job code": the question every in-child guard asks before refusing something.

Trusted code is code loaded from a file in the standard library, site-packages, Ferry's own
`workers` package or the pure `app.scrub` and `app.egress_rules` modules (and Python's frozen
modules). Job code is the step's body (compiled from a string under the name `JOB_FILENAME`)
and, by default, code from any other file.

Code that has no file of its own (a string a library runs with `exec`, as PLY does to load
its parser tables; a function a library generates, as dataclasses and attrs do) is neither:
it acts for whoever runs it, so a frame of such code is judged by its caller. A library
exec-ing its own strings is trusted; the same generated code called by the job is job code.
Job code cannot make such code itself: `compile` and `exec` are refused to it.
"""

from __future__ import annotations

import os
import sys
import sysconfig
import types
from pathlib import Path

from workers.runtime.compiler_checks import JOB_FILENAME

# Trusted code lives here: the only places its files are read from, too.
CODE_ROOTS: tuple[str, ...] = tuple(
    sorted(
        {
            str(Path(root)) + os.sep
            for raw in (
                *(sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")),
                str(Path(__file__).resolve().parents[1]),
            )
            for root in (raw, os.path.realpath(raw))
        }
    )
)
# The pure modules of `app` the sandbox imports (the scrubber, the egress rules): trusted
# files, not folders, since the rest of `app` never runs in a step.
_SHARED_PURE = tuple(
    Path(__file__).resolve().parents[2] / "app" / name for name in ("scrub.py", "egress_rules.py")
)
TRUSTED_FILES: frozenset[str] = frozenset(
    name for path in _SHARED_PURE for name in (str(path), os.path.realpath(path))
)
_FROZEN = "<frozen "


def refused(what: str) -> PermissionError:
    """The error every layer raises, worded for the person reading the step's log."""
    return PermissionError(f"Ferry sandbox: {what} is not allowed in a step.")


def is_trusted_code(filename: str) -> bool:
    """True for code loaded from the stdlib, site-packages or Ferry's package (not job code)."""
    return (
        filename.startswith(CODE_ROOTS) or filename in TRUSTED_FILES or filename.startswith(_FROZEN)
    )


def has_no_file(filename: str) -> bool:
    """True for code compiled from a string by a library (`<string>`, `<attrs generated ...>`)."""
    if filename == JOB_FILENAME or filename.startswith(_FROZEN):
        return False
    return filename.startswith("<")


def runs_job_code(frame: types.FrameType | None) -> bool:
    """True when `frame` runs on the job's behalf: job code, or file-less code job code ran."""
    while frame is not None:
        filename = frame.f_code.co_filename
        if not has_no_file(filename):
            return filename == JOB_FILENAME or not is_trusted_code(filename)
        frame = frame.f_back
    return True  # file-less code that nothing with a file ran: trust nothing


def called_from_job_code(depth: int = 2) -> bool:
    """True when the frame `depth` levels up (2: the caller of our caller) runs job code.

    C functions have no frame, so when job code calls a guarded builtin through one
    (`map(getattr, ...)`), the frame found is the job's own."""
    return runs_job_code(sys._getframe(depth))
