"""Forking the sandbox server for a step's child, without CPython's at-fork handlers.

`os.fork()` runs every handler registered with `os.register_at_fork` in the child: in the
server those are threading's (rebuilds its thread bookkeeping), random's (reseeds) and
logging's (resets its locks). They run Python code, and in a freshly forked child each page
that code writes is a copy-on-write fault: on the 2-core development VM they cost a child
about 1.4 ms of CPU and 200 page faults, a third of a trivial step's child (a child that
exits at once: 2.5-2.9 ms with them, 1.1-1.3 ms without).

`fork()` here calls libc's fork directly instead (so libc's own pthread_atfork handlers, such
as OpenSSL's, still run) and does by hand the one part of those handlers a step needs: a new
seed for `random`, or every step would draw the same numbers. That is safe only because the
server has a single thread: threading's and logging's handlers repair state that *other*
threads held at the fork, and there are none. With any other thread alive it falls back to
`os.fork()`. The call goes through `ctypes.PyDLL`, which keeps the GIL during the call, so the
child returns holding it as the parent did.
"""

from __future__ import annotations

import _thread
import ctypes
import os
import random

_LIBC = ctypes.PyDLL(None, use_errno=True)
_LIBC.fork.restype = ctypes.c_int
_LIBC.fork.argtypes = ()


def fork() -> int:
    """Like `os.fork()`: 0 in the child, the child's pid in the parent; OSError on failure."""
    if _thread._count() != 0:  # threads besides this one: only os.fork handles them
        return os.fork()
    pid = _LIBC.fork()
    if pid < 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
    if pid == 0:
        random.seed()  # what random's at-fork handler does: a seed from os.urandom
    return pid
