"""The builtins job code runs with: safe functions and types, a logging `print`, and an
`__import__` that admits only the allowlisted modules."""

from __future__ import annotations

import builtins
import types
from typing import Any

from workers.runtime.compiler_checks import ALLOWED_IMPORTS, JOB_FILENAME, import_allowed
from workers.runtime.errors import SecurityViolation
from workers.runtime.logs import emit

SAFE_BUILTINS = (
    "abs", "all", "any", "bin", "bool", "bytes", "callable", "chr", "dict", "divmod",
    "enumerate", "filter", "float", "format", "frozenset", "getattr", "hasattr", "hash", "hex",
    "int", "isinstance", "iter", "len", "list", "map", "max", "min", "next", "oct", "ord",
    "pow", "range", "repr", "reversed", "round", "set", "slice", "sorted", "str", "sum",
    "tuple", "zip", "Exception", "ArithmeticError", "AssertionError", "AttributeError",
    "IndexError", "KeyError", "LookupError", "NotImplementedError", "RuntimeError",
    "StopIteration", "TypeError", "ValueError", "ZeroDivisionError",
    "__build_class__",  # what a `class` statement calls
)  # fmt: skip
# C code imports these on job code's behalf (datetime.strptime imports _strptime).
IMPLICIT_IMPORTS = frozenset({"_strptime"})


def job_print(*values: object, sep: str | None = " ", end: str | None = "\n", **_: Any) -> None:
    """print() for job code: one `job` info log line (file= and flush= are ignored)."""
    text = (" " if sep is None else str(sep)).join(str(value) for value in values)
    text += "\n" if end is None else str(end)
    emit("info", "job", text.rstrip("\n"))


def _allowlisted_import(
    name: str,
    globals: dict | None = None,
    locals: dict | None = None,
    fromlist: tuple[str, ...] | None = (),
    level: int = 0,
) -> types.ModuleType:
    names = tuple(fromlist or ())
    if level == 0 and (import_allowed(name, names) or name in IMPLICIT_IMPORTS):
        return builtins.__import__(name, globals, locals, fromlist, level)
    allowed = ", ".join(sorted(ALLOWED_IMPORTS))
    raise SecurityViolation(f"importing {name!r} is not allowed in Ferry jobs ({allowed}).")


def job_builtins() -> dict[str, Any]:
    """A fresh builtins dict for one job, read from `builtins` now (so sandbox guards count)."""
    # The module's dict, not getattr: in a step child getattr is the import guard's wrapper.
    live = builtins.__dict__
    safe = {name: live[name] for name in SAFE_BUILTINS}
    safe["print"] = job_print
    current = builtins.__import__
    # The sandbox replaces builtins.__import__ with a guard that checks this same allowlist and
    # hands out read-only module views; it must be called from job code's own frame to tell
    # job code from trusted libraries, so job code gets it directly rather than through us.
    replaced = not isinstance(current, types.BuiltinFunctionType)
    safe["__import__"] = current if replaced else _allowlisted_import
    return safe


def job_line(exc: BaseException) -> int | None:
    """The last line of job code in the exception's traceback, if job code was involved."""
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == JOB_FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
