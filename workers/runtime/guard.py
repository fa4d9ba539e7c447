"""Hardening a forked step child before job code runs: rlimits, an audit hook, an import guard.

Layers, outermost first: the server's wall-clock kill and process group; rlimits (CPU, address
space, files, processes, file size); a `sys.addaudithook` hook that refuses process creation,
native code, writes and most reads of files, signals to other processes, connections the
egress policy forbids, and (from job code only) frame/code introspection, `compile`/`exec` and
reflective attribute tricks; and the import guard (`import_guard`), which hands job code
read-only views of allow-listed modules. The job compiler's static checks come first; these
layers hold when something slips past it. Who counts as job code is decided in `trust`.
"""

from __future__ import annotations

import builtins
import os
import resource
import socket
import sys
import threading

from workers.runtime import egress, ferry_api
from workers.runtime.import_guard import GUARDED_BUILTINS, install_import_guard
from workers.runtime.trust import CODE_ROOTS, refused, runs_job_code

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
_NEEDS_PRISTINE_BUILTINS = frozenset({
    "open", "socket.connect", "socket.sendto", "socket.sendmsg", "socket.__new__", "os.kill",
})  # fmt: skip
_SOCKET_KINDS = (socket.SOCK_STREAM, socket.SOCK_DGRAM)


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


# The builtins as the sandbox server had them, copied once before it forks any child.
_server_builtins: dict | None = None


def snapshot_builtins() -> None:
    """Copy the builtins now (the sandbox server, once, after its imports): copying them in
    every child wrote to the page of each builtin (reference counts), about 80 copy-on-write
    faults per step."""
    global _server_builtins
    _server_builtins = dict(vars(builtins))


def _pristine_builtins() -> dict:
    """The builtins as they are now, at hook installation: the server's copy updated with
    what the import guard replaced, else a fresh copy."""
    live = vars(builtins)
    if _server_builtins is None or len(_server_builtins) != len(live):
        return dict(live)
    for name in GUARDED_BUILTINS:
        _server_builtins[name] = live[name]
    # Any other difference makes the hook refuse files and sockets: it fails closed.
    return _server_builtins


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
    allowed_hosts = egress.allowed_hostnames(allow)
    # Ferry's own API (the step's collections) is let through for its operations' requests
    # only, even on an internal address: see workers.runtime.ferry_api.
    api_host, api_permits = ferry_api.api_host(), ferry_api.permits
    # Judging files and addresses calls builtins such as isinstance and any (here and in
    # ipaddress); job code that reached the builtins module could swap them to bend the
    # verdict. So once the builtins module has changed, no file or socket is allowed.
    live_builtins, pristine_builtins = vars(builtins), _pristine_builtins()

    def job_code_raised() -> bool:
        # Frames: 0 this function, 1 judge, 2 hook, 3 whoever raised the event (C functions
        # have no frame, so `getattr(gen, "gi_frame")` in job code shows the job's frame).
        return runs_job_code(getframe(3))

    def host_ips(host: str) -> frozenset[str]:
        if host not in resolved_hosts:
            try:
                infos = socket.getaddrinfo(host, None)
            except OSError:
                infos = []
            resolved_hosts[host] = frozenset(str(info[4][0]) for info in infos)
        return resolved_hosts[host]

    def check_ip(ip: str, port: object) -> None:
        reason = check_address(ip, list(allow), port=port)
        if reason is not None:
            if api_host is not None and api_permits(host_ips(api_host), ip, port):
                return
            # An allowlisted hostname opens exactly the addresses it resolves to.
            for host in allowed_hosts:
                if ip in host_ips(host) and check_address(ip, list(allow), host, port) is None:
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


def harden(cpu_seconds: int, memory_mb: int, egress_allow: list[str]) -> None:
    """Apply every in-child layer; call once, right after fork, before any job code."""
    apply_limits(cpu_seconds, memory_mb)
    egress.enter_step(egress_allow)
    install_import_guard()
    install_audit_hook(egress_allow)
