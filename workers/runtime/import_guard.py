"""The in-child import guard: job code gets read-only views of allow-listed modules only.

`install_import_guard` replaces `__import__` (and `importlib`'s importers) and the reflective
builtins with versions that look at who called them (`trust.called_from_job_code`). Trusted
libraries import whatever they need, however they do it: an `import` in a function, their
own `exec("import ...")` strings (PLY), `importlib.import_module`. Job code may import only
the allowlist, and gets views of those modules without the modules they import themselves
(so `uuid.sys.modules` is not a way around it).

A library imports what its caller names only if the job can reach such a library function;
the views and the job's builtins hand out none (tests/workers/sandbox/test_import_guard.py).
"""

from __future__ import annotations

import builtins
import functools
import importlib
import string
import sys
import types

from workers.runtime.trust import called_from_job_code, refused

# Attributes that hand out interpreter frames and code (CPython audits reading them).
FRAME_ATTRIBUTES = frozenset({
    "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code", "tb_frame", "tb_next",
    "f_back", "f_code", "f_globals", "f_locals", "f_builtins",
})  # fmt: skip
# Used when the job compiler's own list is not importable; keep the two identical.
FALLBACK_ALLOWED_IMPORTS = frozenset({
    "json", "math", "re", "datetime", "time", "random", "uuid", "itertools", "functools",
    "collections", "statistics", "decimal", "base64", "hashlib", "hmac", "string", "textwrap",
    "urllib.parse", "csv", "io",
})  # fmt: skip
# The builtins `install_import_guard` replaces (the audit hook's copy of the builtins is
# updated with exactly these).
GUARDED_BUILTINS = ("__import__", "getattr", "hasattr", "setattr", "delattr", "vars")
# C code imports these on job code's behalf (datetime.strptime imports _strptime).
IMPLICIT_IMPORTS = frozenset({"_strptime"})


@functools.cache  # the server asks first, so forked children never search for it again
def allowed_imports() -> frozenset[str]:
    """The modules job code may import: the compiler's list when it exists."""
    try:
        from workers.runtime.compiler import ALLOWED_IMPORTS
    except ImportError:
        return FALLBACK_ALLOWED_IMPORTS
    return frozenset(ALLOWED_IMPORTS)


class SafeFormatter:
    """Stands in for string.Formatter in job code: no fields that walk private attributes."""

    def format(self, format_string: str, /, *args: object, **kwargs: object) -> str:
        """Like str.format, refusing fields such as {0._secret} or {0.gi_frame}."""
        formatter = string.Formatter()
        for _text, field, _spec, _conversion in formatter.parse(format_string):
            parts = (field or "").replace("[", ".").split(".")[1:]
            if any(part.startswith("_") or part in FRAME_ATTRIBUTES for part in parts):
                raise refused(f"the format field {field!r}")
        return formatter.vformat(format_string, args, kwargs)


def _import_refused(name: str) -> ImportError:
    return ImportError(f"Ferry sandbox: importing {name!r} is not allowed in a step.")


def install_import_guard() -> None:
    """Replace `__import__`, `importlib`'s importers and the reflective builtins with versions
    that police job code."""
    allowed = allowed_imports()
    real_import, real_import_module = builtins.__import__, importlib.import_module
    real_getattr, real_setattr, real_delattr, real_hasattr, real_vars = (
        builtins.getattr, builtins.setattr, builtins.delattr, builtins.hasattr, builtins.vars
    )  # fmt: skip
    views: dict[str, types.ModuleType] = {}

    def view_of(module: types.ModuleType) -> types.ModuleType:
        # A read-only copy of the public names, minus modules that are not themselves
        # allowed: `uuid.sys` or `statistics.sys` would hand out sys.modules.
        name = module.__name__
        if name not in views:
            view = types.ModuleType(name, module.__doc__)
            for attr, value in real_vars(module).items():
                if attr.startswith("_"):
                    continue
                if isinstance(value, types.ModuleType):
                    if f"{name}.{attr}" in allowed:
                        real_setattr(view, attr, view_of(value))
                    continue
                real_setattr(view, attr, value)
            if name == "string":
                view.Formatter = SafeFormatter
            views[name] = view
        return views[name]

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        if not called_from_job_code():
            return real_import(name, globals, locals, fromlist, level)
        if name in IMPLICIT_IMPORTS and level == 0:
            return real_import(name, globals, locals, fromlist, level)
        wanted = [f"{name}.{item}" for item in fromlist or ()]
        if level != 0 or not (name in allowed or (wanted and all(w in allowed for w in wanted))):
            raise _import_refused(name)
        module = real_import(name, globals, locals, fromlist, level)
        return view_of(module)

    def guarded_import_module(name, package=None):
        # Libraries call importlib.import_module on their own behalf; job code never gets
        # importlib, but if a reference ever leaked it would be no way around the allowlist.
        if not called_from_job_code():
            return real_import_module(name, package)
        if package is not None or name not in allowed:
            raise _import_refused(name)
        return view_of(real_import_module(name))

    def private_name(name: object) -> bool:
        return isinstance(name, str) and (name.startswith("_") or name in FRAME_ATTRIBUTES)

    # The wrappers look at their caller only when the call could matter, to stay cheap for
    # the trusted libraries that call getattr all the time.
    def guarded_getattr(obj, name, *default):
        if private_name(name) and called_from_job_code(2):
            raise refused(f"reading the attribute {name!r}")
        return real_getattr(obj, name, *default)

    def guarded_hasattr(obj, name):
        if private_name(name) and called_from_job_code(2):
            raise refused(f"reading the attribute {name!r}")
        return real_hasattr(obj, name)

    def guarded_setattr(obj, name, value):
        # Patching a class or a module would change how trusted code behaves.
        patching = private_name(name) or isinstance(obj, type | types.ModuleType)
        if patching and called_from_job_code(2):
            raise refused(f"setting the attribute {name!r} of {type(obj).__name__}")
        return real_setattr(obj, name, value)

    def guarded_delattr(obj, name):
        patching = private_name(name) or isinstance(obj, type | types.ModuleType)
        if patching and called_from_job_code(2):
            raise refused(f"deleting the attribute {name!r} of {type(obj).__name__}")
        return real_delattr(obj, name)

    def guarded_vars(*args):
        if not args:
            return sys._getframe(1).f_locals
        if called_from_job_code():
            raise refused("vars() of an object")
        return real_vars(*args)

    builtins.__import__ = importlib.__import__ = guarded_import
    importlib.import_module = guarded_import_module
    builtins.getattr, builtins.hasattr, builtins.setattr = (
        guarded_getattr, guarded_hasattr, guarded_setattr
    )  # fmt: skip
    builtins.delattr, builtins.vars = guarded_delattr, guarded_vars
