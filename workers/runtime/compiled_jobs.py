"""Compiling a step's job code, and the sandbox server's cache of compiled jobs.

Compiling a trivial body costs a forked child about 1 ms of CPU (parsing, the safety checks
and the AST rewrite run under the import guard, whose getattr wrapper ast calls hundreds of
times). The same bodies run again and again (every run of a workflow runs its steps' bodies),
so the sandbox server keeps the compiled form of bodies it has seen succeed, and children
forked after that find it here instead of compiling.

Why the server may compile job code: compiling parses, checks and compiles; it runs none of
the job's code (`CompiledJob.build`, which does, only ever runs in a child). The server
compiles only a body a child has already run successfully, and job code runs only after its
body compiled, so even a forged "success" proves the body compiled within a child's CPU and
memory limits; bodies above `MAX_SOURCE_CHARS` are never kept, and the cache holds at most
`MAX_ENTRIES` bodies and `MAX_TOTAL_CHARS` of source, oldest out first. The key is the exact
body text and adaptor reference, so a changed body (or version) compiles afresh.
"""

from __future__ import annotations

import gc

from workers.adaptors import UnknownAdaptor, operations, parse_ref
from workers.runtime.compiler import CompiledJob, compile_job
from workers.runtime.errors import JobCompileError

MAX_ENTRIES = 128
MAX_SOURCE_CHARS = 32 * 1024
MAX_TOTAL_CHARS = 512 * 1024

_cache: dict[tuple[str, str], CompiledJob] = {}


def compile_for(source: str, adaptor: str) -> CompiledJob:
    """Check and compile `source` against the operations of `adaptor` ("http@1")."""
    try:
        available = operations(adaptor)
        name = parse_ref(adaptor)[0]
    except UnknownAdaptor as exc:
        raise JobCompileError(
            str(exc), code="unknown_adaptor", details={"adaptor": adaptor}
        ) from None
    return compile_job(source, available, adaptor=name)


def compiled(source: str, adaptor: str) -> CompiledJob:
    """The cached compiled job for this body and adaptor, or a fresh compile (not kept)."""
    found = _cache.get((source, adaptor))
    return found if found is not None else compile_for(source, adaptor)


def remember(source: str, adaptor: str) -> bool:
    """Compile and keep a body that a child ran successfully; True if it is now cached.

    The sandbox server calls this between steps, before forking the next child."""
    key = (source, adaptor)
    if key in _cache:
        return True
    if len(source) > MAX_SOURCE_CHARS:
        return False
    try:
        job = compile_for(source, adaptor)
    except Exception:  # a child compiled it, so this is not expected; then simply do not keep it
        return False
    _cache[key] = job
    while len(_cache) > MAX_ENTRIES or sum(len(s) for s, _ in _cache) > MAX_TOTAL_CHARS:
        del _cache[next(iter(_cache))]
    # Shared read-only with every later child: keep their garbage collector off these pages.
    gc.freeze()
    return True


def forget_all() -> None:
    """Empty the cache (for tests)."""
    _cache.clear()
