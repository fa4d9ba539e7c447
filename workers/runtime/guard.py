"""Hardening a forked step child before job code runs: rlimits, an audit hook, an import guard.

Layers, outermost first: the server's wall-clock kill and process group; rlimits (CPU, address
space, files, processes, file size); a `sys.addaudithook` hook that refuses process creation,
native code, writes and most reads of files, signals to other processes, connections the
egress policy forbids, and (from job code only) frame/code introspection, `compile`/`exec` and
reflective attribute tricks; and an `__import__` guard that hands job code read-only views of
allow-listed modules (so `uuid.sys.modules` is not a way around it). The job compiler's static
checks come first; these layers hold when something slips past it.

Who is "job code": a Python frame whose code was not loaded from the standard library,
site-packages or Ferry's own `workers` package (job code is compiled from a string).
"""

from __future__ import annotations

import builtins
import functools
import os
import resource
import socket
import string
import sys
import sysconfig
import threading
import types
from pathlib import Path

from workers.runtime import egress

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
READ_ROOTS = (
    *CODE_ROOTS,
    "/etc/ssl/",
    "/usr/share/zoneinfo/",
    "/usr/share/ca-certificates/",
    "/usr/lib/ssl/",
)
READ_FILES = frozenset({
    "/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf", "/etc/gai.conf", "/etc/host.conf",
    "/etc/services", "/etc/protocols", "/etc/mime.types", "/etc/localtime", "/dev/null",
    "/dev/urandom",
})  # fmt: skip
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC | os.O_EXCL

# Refused whoever raises them: nothing in a step needs a new process, native code, changes
# to the file system or the environment, or signals to others.
ALWAYS_REFUSED_PREFIXES = ("ctypes.", "os.exec", "os.spawn", "os.posix_spawn", "shutil.")
ALWAYS_REFUSED = frozenset({
    "os.system", "os.fork", "os.forkpty", "subprocess.Popen", "pty.spawn", "os.killpg",
    "signal.pthread_kill", "os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod",
    "os.chown", "os.link", "os.symlink", "os.truncate", "os.utime", "os.chflags",
    "os.lchflags", "os.setxattr", "os.removexattr", "os.getxattr", "os.listxattr",
    "os.putenv", "os.unsetenv", "os.chdir", "sys.addaudithook", "sys.settrace",
    "sys.setprofile", "sys._current_frames", "tempfile.mkstemp", "tempfile.mkdtemp",
    "socket.bind", "webbrowser.open", "winreg.OpenKey",
})  # fmt: skip
# Refused when job code raises them directly: trusted libraries use these legitimately
# (logging reads frames, importlib runs `exec`), job code has no business with them.
REFUSED_FROM_JOB_CODE = frozenset({
    "object.__getattr__", "object.__setattr__", "object.__delattr__", "sys._getframe",
    "compile", "exec", "code.__new__", "function.__new__", "marshal.loads", "marshal.load",
    "pickle.find_class", "gc.get_objects", "gc.get_referrers", "gc.get_referents",
    "os.listdir", "os.scandir", "glob.glob", "mmap.__new__", "resource.setrlimit",
    "resource.prlimit", "builtins.input", "sys.setrecursionlimit",
})  # fmt: skip
# Attributes that hand out interpreter frames and code (CPython audits reading them).
FRAME_ATTRIBUTES = frozenset({
    "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code", "tb_frame", "tb_next",
    "f_back", "f_code", "f_globals", "f_locals", "f_builtins",
})  # fmt: skip
_NEEDS_PRISTINE_BUILTINS = frozenset({
    "open", "socket.connect", "socket.sendto", "socket.sendmsg", "socket.__new__", "os.kill",
})  # fmt: skip
_SOCKET_KINDS = (socket.SOCK_STREAM, socket.SOCK_DGRAM)


def refused(what: str) -> PermissionError:
    """The error every layer raises, worded for the person reading the step's log."""
    return PermissionError(f"Ferry sandbox: {what} is not allowed in a step.")


def is_trusted_code(filename: str) -> bool:
    """True for code loaded from the stdlib, site-packages or Ferry's package (not job code)."""
    return filename.startswith(CODE_ROOTS) or filename.startswith("<frozen ")


def apply_limits(cpu_seconds: int, memory_mb: int) -> None:
    """Cap CPU time, address space (memory_mb above what the warm runtime already maps),
    open files, new processes and file writes for this process."""
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    mapped = _mapped_bytes()
    soft = mapped + memory_mb * 1024 * 1024
    # The hard limit leaves headroom that `release_memory_headroom` hands back after a
    # MemoryError, so the child can still encode and send its "killed" result.
    resource.setrlimit(resource.RLIMIT_AS, (soft, soft + 64 * 1024 * 1024))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Ignored for root (as in our containers): the audit hook refuses fork and spawn anyway.
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))


def release_memory_headroom() -> None:
    """Raise the address-space soft limit to the hard one, to report a MemoryError."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))


def _mapped_bytes() -> int:
    """This process's virtual size (the first field of /proc/self/statm, in pages)."""
    fd = os.open("/proc/self/statm", os.O_RDONLY)
    try:
        pages = int(os.read(fd, 200).split()[0])
    finally:
        os.close(fd)
    return pages * os.sysconf("SC_PAGE_SIZE")


def install_audit_hook(egress_allow: list[str]) -> None:
    """Install the hook that judges every audited event in this process (cannot be undone)."""
    allow = tuple(egress_allow)
    own_pid = os.getpid()
    judging: set[int] = set()
    resolved_hosts: dict[str, frozenset[str]] = {}
    # Bound now, so that later changes to module attributes cannot change the hook.
    get_ident, getframe, realpath, fsdecode = threading.get_ident, sys._getframe, \
        os.path.realpath, os.fsdecode  # fmt: skip
    check_address, refusal_message = egress.check_address, egress.refusal_message
    _networks, allowed_hosts = egress.parse_allowlist(allow)
    # Judging files and addresses calls builtins such as isinstance and any (here and in
    # ipaddress); job code that reached the builtins module could swap them to bend the
    # verdict. So once the builtins module has changed, no file or socket is allowed.
    live_builtins, pristine_builtins = vars(builtins), dict(vars(builtins))

    def job_code_raised() -> bool:
        # Frames: 0 this function, 1 judge, 2 hook, 3 whoever raised the event (C functions
        # have no frame, so `getattr(gen, "gi_frame")` in job code shows the job's frame).
        frame = getframe(3)
        return not is_trusted_code(frame.f_code.co_filename)

    def host_ips(host: str) -> frozenset[str]:
        if host not in resolved_hosts:
            try:
                infos = socket.getaddrinfo(host, None)
            except OSError:
                infos = []
            resolved_hosts[host] = frozenset(str(info[4][0]) for info in infos)
        return resolved_hosts[host]

    def check_ip(ip: str, port: object) -> None:
        reason = check_address(ip, list(allow))
        if reason is not None:
            # An allowlisted hostname opens exactly the addresses it resolves to.
            for host in allowed_hosts:
                if ip in host_ips(host) and check_address(ip, list(allow), host) is None:
                    return
            raise PermissionError(refusal_message(ip, port, reason))

    def check_endpoint(sock: object, address: object) -> None:
        family = getattr(sock, "family", None)
        if family not in (socket.AF_INET, socket.AF_INET6) or not isinstance(address, tuple):
            raise refused("connecting to a local (unix) or raw socket")
        host, port = str(address[0]), address[1]
        if egress.parse_ip(host) is None:
            # Python would resolve the name itself, out of our sight: judge every address.
            ips = host_ips(host)
            if not ips:
                raise refused(f"connecting to {host!r}, which does not resolve,")
            for ip in ips:
                check_ip(ip, port)
        else:
            check_ip(host, port)

    def check_open(path: object, mode: object, flags: object) -> None:
        if isinstance(path, int) or path is None:
            raise refused("opening a file descriptor or unnamed file")
        name = fsdecode(path)
        if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & _WRITE_FLAGS
        ):
            raise refused(f"writing to {name!r}")
        real = realpath(name)
        if real not in READ_FILES and not real.startswith(READ_ROOTS):
            raise refused(f"opening {name!r}")

    def judge(event: str, args: tuple) -> None:
        if event in ALWAYS_REFUSED or event.startswith(ALWAYS_REFUSED_PREFIXES):
            raise refused(f"{event!r}")
        if event in _NEEDS_PRISTINE_BUILTINS and live_builtins != pristine_builtins:
            raise refused(f"{event!r} after changing Python's builtins")
        if event == "open":
            check_open(*args[:3])
        elif event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
            if len(args) > 1 and args[1] is not None:
                check_endpoint(args[0], args[1])
        elif event == "socket.__new__":
            _sock, family, kind = args[:3]
            if family not in (socket.AF_INET, socket.AF_INET6, socket.AF_UNIX, -1) or (
                kind not in (-1, *_SOCKET_KINDS) and (kind & 0xF) not in _SOCKET_KINDS
            ):
                raise refused("opening a raw or unusual socket")
        elif event == "os.kill":
            if args[0] != own_pid:
                raise refused("sending signals to other processes")
        elif event in REFUSED_FROM_JOB_CODE and job_code_raised():
            detail = f"{event} {args[1]!r}" if event.startswith("object.") else event
            raise refused(f"introspection ({detail})")

    def hook(event: str, args: tuple) -> None:
        if event == "builtins.id":
            return  # raised by every id() call (deepcopy makes thousands): keep it cheap
        ident = get_ident()
        if ident in judging:
            return  # an event raised by the hook's own work (frame walks, DNS)
        judging.add(ident)
        try:
            judge(event, args)
        finally:
            judging.discard(ident)

    sys.addaudithook(hook)


# Used when the job compiler's own list is not importable; keep the two identical.
FALLBACK_ALLOWED_IMPORTS = frozenset({
    "json", "math", "re", "datetime", "time", "random", "uuid", "itertools", "functools",
    "collections", "statistics", "decimal", "base64", "hashlib", "hmac", "string", "textwrap",
    "urllib.parse", "csv", "io",
})  # fmt: skip
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


def _called_from_job_code(depth: int = 2) -> bool:
    """True when the frame `depth` levels up (2: the caller of our caller) is job code."""
    frame = sys._getframe(depth)
    return not is_trusted_code(frame.f_code.co_filename)


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


def install_import_guard() -> None:
    """Replace `__import__` and the reflective builtins with versions that police job code."""
    allowed = allowed_imports()
    real_import = builtins.__import__
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
        if not _called_from_job_code():
            return real_import(name, globals, locals, fromlist, level)
        if name in IMPLICIT_IMPORTS and level == 0:
            return real_import(name, globals, locals, fromlist, level)
        wanted = [f"{name}.{item}" for item in fromlist or ()]
        if level != 0 or not (name in allowed or (wanted and all(w in allowed for w in wanted))):
            raise ImportError(f"Ferry sandbox: importing {name!r} is not allowed in a step.")
        module = real_import(name, globals, locals, fromlist, level)
        return view_of(module)

    def private_name(name: object) -> bool:
        return isinstance(name, str) and (name.startswith("_") or name in FRAME_ATTRIBUTES)

    # The wrappers look at their caller only when the call could matter, to stay cheap for
    # the trusted libraries that call getattr all the time.
    def guarded_getattr(obj, name, *default):
        if private_name(name) and _called_from_job_code(2):
            raise refused(f"reading the attribute {name!r}")
        return real_getattr(obj, name, *default)

    def guarded_hasattr(obj, name):
        if private_name(name) and _called_from_job_code(2):
            raise refused(f"reading the attribute {name!r}")
        return real_hasattr(obj, name)

    def guarded_setattr(obj, name, value):
        # Patching a class or a module would change how trusted code behaves.
        patching = private_name(name) or isinstance(obj, type | types.ModuleType)
        if patching and _called_from_job_code(2):
            raise refused(f"setting the attribute {name!r} of {type(obj).__name__}")
        return real_setattr(obj, name, value)

    def guarded_delattr(obj, name):
        patching = private_name(name) or isinstance(obj, type | types.ModuleType)
        if patching and _called_from_job_code(2):
            raise refused(f"deleting the attribute {name!r} of {type(obj).__name__}")
        return real_delattr(obj, name)

    def guarded_vars(*args):
        if not args:
            return sys._getframe(1).f_locals
        if _called_from_job_code():
            raise refused("vars() of an object")
        return real_vars(*args)

    builtins.__import__ = guarded_import
    builtins.getattr, builtins.hasattr, builtins.setattr = (
        guarded_getattr, guarded_hasattr, guarded_setattr
    )  # fmt: skip
    builtins.delattr, builtins.vars = guarded_delattr, guarded_vars


def harden(cpu_seconds: int, memory_mb: int, egress_allow: list[str]) -> None:
    """Apply every in-child layer; call once, right after fork, before any job code."""
    apply_limits(cpu_seconds, memory_mb)
    egress.enter_step(egress_allow)
    install_import_guard()
    install_audit_hook(egress_allow)
