"""Run model-written code in a subprocess that cannot harm the machine or the user's files:
Python (`run_python`), and compilers and compiled programs (`Workspace.run`).

Defence in depth, each layer on its own enough to stop the usual accidents:

1. In the child before exec (`preexec_fn`): a new session (so the whole process group can be
   killed), a new network namespace (as root directly, as an ordinary user inside a new user
   namespace; skipped where the kernel refuses), rlimits (CPU, address space, file size, open
   files, no core files), `no_new_privs`, and, as root, a switch to `nobody` so that the user's
   files are not writable and RLIMIT_NPROC applies. Where the interpreter lives somewhere
   `nobody` cannot reach (such as /root), the child keeps CAP_DAC_READ_SEARCH only: it may read
   and search like root, never write.
2. In the child's Python (a bootstrap passed with -c): an audit hook that blocks sockets,
   process creation, killing other processes, ctypes calls and every write, removal or rename
   outside the sandbox's working directory. A blocked action raises PermissionError and leaves
   a marker on stderr that `run_python` reports as reason "blocked: <event>".
3. In the parent: stdin, stdout and stderr are anonymous temporary files (bounded by
   RLIMIT_FSIZE, so no pipe can fill the parent's memory), a wall-clock timeout, and a SIGKILL
   to the whole process group at the end whatever happened.

Other programs (a compiler, a compiled candidate, node, java) get layers 1 and 3, and in place
of the audit hook: Landlock (where the kernel has it) that allows writes only inside the
sandbox's directory and denies TCP bind/connect, an RLIMIT_NPROC on its own user's processes,
and at the end a SIGKILL to every process that still carries the run's environment marker
(a child that left the process group included).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import math
import os
import pwd
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

OUTPUT_LIMIT = 1 << 20  # bytes of stdout and of stderr kept
BLOCK_MARK = "@@vibe-sandbox-blocked@@ "

_CLONE_NEWUSER = 0x10000000
_CLONE_NEWNET = 0x40000000
_PR_SET_KEEPCAPS = 8
_PR_SET_NO_NEW_PRIVS = 38
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_RAISE = 2
_CAP_DAC_READ_SEARCH = 2
_CAP_VERSION_3 = 0x20080522

# Loaded here, in the parent: the child after fork should not dlopen anything.
_LIBC = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class Limits:
    cpu_s: float = 5.0  # RLIMIT_CPU (whole seconds, rounded up)
    wall_s: float = 10.0  # wall-clock timeout, then the whole process group is killed
    memory_mb: int = 1024  # RLIMIT_AS
    file_mb: int = 16  # RLIMIT_FSIZE (also bounds what stdout and stderr can hold)
    open_files: int = 64  # RLIMIT_NOFILE
    processes: int = 0  # extra processes/threads it may create (0: no fork, no threads)
    # "address": memory_mb bounds RLIMIT_AS; "data": RLIMIT_DATA, for runtimes that reserve
    # far more address space than they use (node, the JVM)
    memory_kind: str = "address"


@dataclass(frozen=True)
class Outcome:
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    reason: str  # "" when it exited normally, else "timeout", "cpu limit", "blocked: os.fork", ...
    wall_s: float


# The child's first code: install the audit hook, then run the user's script as __main__.
# Everything the hook needs is bound as a closure over locals, out of the user code's reach.
_BOOTSTRAP = r'''
import os, sys, types

def _make_hook(work, allow_procs):
    mark = @MARK@
    wflags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    procs = frozenset({"os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn",
                       "os.spawn", "subprocess.Popen", "pty.spawn", "_thread.start_new_thread"})
    always = frozenset({"socket.__new__", "socket.connect", "socket.bind", "socket.sendto",
                        "socket.sendmsg", "ctypes.dlsym", "ctypes.dlsym/handle",
                        "ctypes.call_function", "ctypes.cdata", "gc.get_objects",
                        "gc.get_referrers", "gc.get_referents"})
    paths = {"os.remove": ((0, 1),), "os.rmdir": ((0, 1),), "os.mkdir": ((0, 2),),
             "os.rename": ((0, 2), (1, 3)), "os.link": ((0, 2), (1, 3)),
             "os.symlink": ((1, 2),), "os.chmod": ((0, 2),), "os.chown": ((0, 3),),
             "os.truncate": ((0, -1),), "os.utime": ((0, 3),), "os.setxattr": ((0, -1),),
             "os.removexattr": ((0, -1),), "shutil.rmtree": ((0, 1),),
             "shutil.move": ((0, -1), (1, -1)), "shutil.chown": ((0, -1),)}
    realpath, join, isdir, fsdecode, fspath = (os.path.realpath, os.path.join, os.path.isdir,
                                               os.fsdecode, os.fspath)
    readlink, write, getpid, getpgrp = os.readlink, os.write, os.getpid, os.getpgrp

    def deny(event, detail):
        write(2, (mark + event + "\n").encode())
        raise PermissionError("vibe-ls sandbox blocked %s: %.200r" % (event, detail))

    def resolve(path, dir_fd=None):
        path = fsdecode(fspath(path))
        if isinstance(dir_fd, int) and dir_fd >= 0 and not path.startswith("/"):
            path = join(readlink("/proc/self/fd/%d" % dir_fd), path)
        return realpath(path)

    def inside(real):
        return real == work or real.startswith(work + "/") or real == "/dev/null"

    def check_open(path, mode, flags):
        if isinstance(path, int):
            return
        real = resolve(path)
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & wflags)
        if not inside(real) and (writing or isdir(real)):
            deny("open", path)

    def check_kill(event, target, sig):
        own = target in (getpid(), getpgrp()) if event == "os.killpg" else target == getpid()
        if not own and not (allow_procs and event == "os.kill" and target > 0):
            deny(event, target)

    def hook(event, args):
        if event in always or (not allow_procs and event in procs):
            deny(event, args)
        elif event == "import" and str(args[0]).partition(".")[0] in ("ctypes", "_ctypes"):
            raise ImportError("ctypes is not available in the vibe-ls sandbox")
        elif event == "open":
            check_open(*args[:3])
        elif event in ("os.kill", "os.killpg"):
            check_kill(event, *args[:2])
        elif event in paths:
            for i, d in paths[event]:
                if not isinstance(args[i], int) and not inside(
                        resolve(args[i], args[d] if d >= 0 else None)):
                    deny(event, args[i])
    return hook

def _main():
    work, script, allow = os.path.realpath(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
    with open(script, encoding="utf-8") as f:
        code = compile(f.read(), script, "exec")
    import traceback
    sys.addaudithook(_make_hook(work, allow))
    main = types.ModuleType("__main__")
    main.__file__, main.__builtins__ = script, __builtins__
    sys.modules["__main__"], sys.argv = main, [script]
    sys.path.insert(0, work)
    try:
        exec(code, main.__dict__)
    except SystemExit:
        raise
    except BaseException as e:
        traceback.print_exception(type(e), e, e.__traceback__.tb_next)
        sys.stderr.flush()
        os._exit(1)

_main()
'''.replace("@MARK@", repr(BLOCK_MARK))


def run_python(code: str, stdin: str = "", limits: Limits = Limits(),
               files: dict[str, str] | None = None) -> Outcome:
    """Run `code` as a script with this interpreter (isolated mode) in a fresh temporary
    directory holding `files`, under `limits`; the directory is removed afterwards."""
    base = Path(tempfile.mkdtemp(prefix="vibe-sandbox-"))
    try:
        work, script = base / "work", base / "main.py"
        work.mkdir()
        script.write_text(code, encoding="utf-8")
        _write_files(work, files or {})
        drop = _sandbox_user() if os.geteuid() == 0 else None
        if drop is not None:
            _chown_tree(base, *drop)
        argv = [sys.executable, "-I", "-B", "-X", "utf8", "-c", _BOOTSTRAP, str(work),
                str(script), "1" if limits.processes > 0 else "0"]
        keep_read = drop is not None and not _reachable_by_others()
        return _run(work, argv, stdin, limits, drop, keep_read)
    finally:
        _remove_tree(base)


class Workspace:
    """A temporary directory where programs are built and run, each run sandboxed (layers 1
    and 3, Landlock, leftover processes killed); removed on `close`."""

    def __init__(self, files: dict[str, str] | None = None) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="vibe-sandbox-"))
        self.work = self.base / "work"
        self.work.mkdir()
        _write_files(self.work, files or {})
        self.drop = _sandbox_user() if os.geteuid() == 0 else None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        _remove_tree(self.base)

    def run(self, argv: list[str], stdin: str = "", limits: Limits = Limits(),
            env: dict[str, str] | None = None) -> Outcome:
        """Run `argv` (its first element an absolute path) in the directory, which it may
        write to; nothing else is writable to it."""
        if self.drop is not None:
            _chown_tree(self.base, *self.drop)
        keep_read = self.drop is not None and not _searchable(os.path.dirname(argv[0]))
        return _run(self.work, argv, stdin, limits, self.drop, keep_read, env or {},
                    native=True)


@functools.lru_cache(maxsize=1)
def isolation() -> dict[str, bool]:
    """What this machine gives the sandbox, found by running a probe in it."""
    probe = "import os\nprint(os.geteuid(), os.readlink('/proc/self/ns/net'))\n"
    out = run_python(probe, limits=Limits(cpu_s=5, wall_s=20))
    uid, _, netns = out.stdout.strip().partition(" ")
    return {"network_namespace": out.returncode == 0 and netns != os.readlink("/proc/self/ns/net"),
            "unprivileged_user": out.returncode == 0 and uid != "0",
            "audit_hook": True}


def _run(work: Path, argv: list[str], stdin: str, limits: Limits,
         drop: tuple[int, int] | None, keep_read: bool, extra_env: dict[str, str] | None = None,
         native: bool = False) -> Outcome:
    marker = secrets.token_hex(8)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": str(work),
           "TMPDIR": str(work), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", **(extra_env or {}), "VIBE_LS_SANDBOX": marker}
    # As root the run becomes `nobody` and RLIMIT_NPROC counts only that user; an ordinary
    # user's limit must leave room for the processes it already has.
    nproc = None if drop is not None or not native else _own_processes() + 1 + limits.processes
    with tempfile.TemporaryFile() as fin, tempfile.TemporaryFile() as fout, \
            tempfile.TemporaryFile() as ferr:
        fin.write(stdin.encode("utf-8"))
        fin.seek(0)
        start = time.monotonic()
        proc = subprocess.Popen(argv, stdin=fin, stdout=fout, stderr=ferr, cwd=work, env=env,
                                close_fds=True, preexec_fn=_child_setup(
                                    limits, drop, keep_read, work if native else None, nproc))
        timed_out = not _wait_exit(proc.pid, start + limits.wall_s)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # the group outlives a zombie leader: no pid reuse
        if native:
            _kill_marked(marker)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        stdout, stderr = _read_output(fout), _read_output(ferr)
    stderr, blocked = _split_markers(stderr)
    cpu = usage.ru_utime + usage.ru_stime
    reason = _reason(proc.returncode, timed_out, stderr, cpu, limits, blocked)
    return Outcome(proc.returncode, stdout, stderr, timed_out, reason, wall)


def _wait_exit(pid: int, deadline: float) -> bool:
    """Wait until `pid` has exited (left unreaped, so its process group id stays taken);
    False when the deadline passed first."""
    delay = 0.001
    while os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.02)
    return True


def _reason(rc: int | None, timed_out: bool, stderr: str, cpu: float, limits: Limits,
            blocked: str) -> str:
    if timed_out:
        return "timeout"
    if blocked:
        return f"blocked: {blocked}"
    if rc == -signal.SIGXCPU or (rc == -signal.SIGKILL and cpu >= math.ceil(limits.cpu_s)):
        return "cpu limit"
    if rc == -signal.SIGXFSZ or (rc and "File too large" in stderr):
        return "file size limit"
    if rc and ("MemoryError" in stderr or "Cannot allocate memory" in stderr):
        return "memory limit"
    if rc is not None and rc < 0:
        return f"killed by signal {-rc}"
    return ""


def _read_output(f) -> str:
    f.seek(0)
    data = f.read(OUTPUT_LIMIT + 1)
    text = data[:OUTPUT_LIMIT].decode("utf-8", errors="replace")
    return text + "\n[output truncated]\n" if len(data) > OUTPUT_LIMIT else text


def _split_markers(stderr: str) -> tuple[str, str]:
    """Remove the audit hook's marker lines; return the rest and the first blocked event."""
    kept, events = [], []
    for line in stderr.splitlines(keepends=True):
        if line.startswith(BLOCK_MARK):
            events.append(line[len(BLOCK_MARK):].strip())
        else:
            kept.append(line)
    return "".join(kept), events[0] if events else ""


def _write_files(work: Path, files: dict[str, str]) -> None:
    for name, content in files.items():
        rel = Path(name)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise ValueError(f"sandbox file name must be relative, inside the sandbox: {name!r}")
        path = work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")


def _sandbox_user() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam("nobody")
        return entry.pw_uid, entry.pw_gid
    except KeyError:
        return 65534, 65534


def _chown_tree(root: Path, uid: int, gid: int) -> None:
    os.chown(root, uid, gid)
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            os.chown(os.path.join(dirpath, name), uid, gid, follow_symlinks=False)


def _remove_tree(root: Path) -> None:
    """Remove the sandbox directory even where the code made parts of it read-only."""
    for dirpath, _, _ in os.walk(root):
        with contextlib.suppress(OSError):
            os.chmod(dirpath, 0o700)
    shutil.rmtree(root, ignore_errors=True)


@functools.lru_cache(maxsize=1)
def _reachable_by_others() -> bool:
    """Whether a user other than the owner can run this interpreter and read its library."""
    dirs = {os.path.dirname(os.path.realpath(sys.executable)), sys.prefix, sys.base_prefix,
            os.path.dirname(os.__file__)}
    return all(_searchable(d) for d in dirs)


def _searchable(path: str) -> bool:
    path = os.path.realpath(path)
    while True:
        if not os.stat(path).st_mode & 0o001:
            return False
        parent = os.path.dirname(path)
        if parent == path:
            return True
        path = parent


# --- in the child, between fork and exec -------------------------------------------------


def _child_setup(limits: Limits, drop: tuple[int, int] | None, keep_read: bool,
                 landlock_dir: Path | None = None, nproc: int | None = None):
    def setup() -> None:
        os.setsid()
        _new_network_namespace()
        os.umask(0o077)
        _set_limits(limits)
        _prctl(_PR_SET_NO_NEW_PRIVS, 1)
        if landlock_dir is not None:
            _landlock(landlock_dir)
        if drop is not None:
            _drop_privileges(*drop, keep_read)
            # Only now: as root RLIMIT_NPROC is ignored, and as an ordinary user it would
            # count that user's other processes (there the audit hook blocks fork instead).
            resource.setrlimit(resource.RLIMIT_NPROC, (1 + limits.processes,) * 2)
        elif nproc is not None:
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    return setup


def _new_network_namespace() -> bool:
    if _LIBC.unshare(_CLONE_NEWNET) == 0:
        return True
    uid, gid = os.geteuid(), os.getegid()
    if _LIBC.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) != 0:
        return False  # the audit hook still blocks sockets
    # Map our own ids so the code sees its real uid rather than the overflow id.
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                       ("gid_map", f"{gid} {gid} 1")):
        with contextlib.suppress(OSError), open(f"/proc/self/{name}", "w") as f:
            f.write(text)
    return True


def _set_limits(limits: Limits) -> None:
    cpu = max(1, math.ceil(limits.cpu_s))
    mb = 1 << 20
    for which, soft, hard in (
            (resource.RLIMIT_CPU, cpu, cpu + 1),  # SIGXCPU, then SIGKILL a second later
            (resource.RLIMIT_AS if limits.memory_kind == "address" else resource.RLIMIT_DATA,
             limits.memory_mb * mb, limits.memory_mb * mb),
            (resource.RLIMIT_FSIZE, limits.file_mb * mb, limits.file_mb * mb),
            (resource.RLIMIT_NOFILE, limits.open_files, limits.open_files),
            (resource.RLIMIT_CORE, 0, 0)):
        resource.setrlimit(which, (soft, hard))


def _drop_privileges(uid: int, gid: int, keep_read: bool) -> None:
    os.setgroups([])
    os.setgid(gid)
    if keep_read:
        _prctl(_PR_SET_KEEPCAPS, 1)
    os.setuid(uid)
    if keep_read:
        _keep_read_search()


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _keep_read_search() -> None:
    """Keep CAP_DAC_READ_SEARCH alone, through exec (as an ambient capability)."""
    bit = 1 << _CAP_DAC_READ_SEARCH
    data = (_CapData * 2)(_CapData(bit, bit, bit), _CapData(0, 0, 0))
    if _LIBC.capset(ctypes.byref(_CapHeader(_CAP_VERSION_3, 0)), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")
    _prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_RAISE, _CAP_DAC_READ_SEARCH)


def _prctl(option: int, arg2: int = 0, arg3: int = 0) -> None:
    args = [ctypes.c_ulong(a) for a in (arg2, arg3, 0, 0)]
    if _LIBC.prctl(ctypes.c_int(option), *args) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option})")


# Landlock (Linux 5.13+): once restricted, the process and its children may write only
# beneath the sandbox directory, and (ABI 4+) may not bind or connect TCP sockets.
_SYS_LANDLOCK_CREATE_RULESET, _SYS_LANDLOCK_ADD_RULE, _SYS_LANDLOCK_RESTRICT_SELF = 444, 445, 446
_LANDLOCK_CREATE_RULESET_VERSION = 1
_LANDLOCK_RULE_PATH_BENEATH = 1
_FS_WRITE_FILE = 1 << 1
_FS_WRITES_V1 = _FS_WRITE_FILE | sum(1 << bit for bit in range(4, 13))  # remove, make *
_FS_REFER, _FS_TRUNCATE = 1 << 13, 1 << 14
_NET_BIND_TCP, _NET_CONNECT_TCP = 1, 2


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


@functools.lru_cache(maxsize=1)
def landlock_abi() -> int:
    """The kernel's Landlock ABI version (0: none)."""
    version = _LIBC.syscall(_SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0),
                            ctypes.c_uint32(_LANDLOCK_CREATE_RULESET_VERSION))
    return max(version, 0)


def _landlock(work: Path) -> None:
    abi = landlock_abi()
    if abi < 1:
        return
    writes = _FS_WRITES_V1 | (_FS_REFER if abi >= 2 else 0) | (_FS_TRUNCATE if abi >= 3 else 0)
    net = _NET_BIND_TCP | _NET_CONNECT_TCP if abi >= 4 else 0
    attr = _RulesetAttr(writes, net)
    size = ctypes.sizeof(attr) if abi >= 4 else 8
    ruleset = _LIBC.syscall(_SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr),
                            ctypes.c_size_t(size), ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset")
    try:
        for path, allowed in ((work, writes), ("/dev/null", _FS_WRITE_FILE | (
                _FS_TRUNCATE if abi >= 3 else 0))):
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                rule = _PathBeneathAttr(allowed, fd)
                if _LIBC.syscall(_SYS_LANDLOCK_ADD_RULE, ctypes.c_int(ruleset),
                                 ctypes.c_int(_LANDLOCK_RULE_PATH_BENEATH), ctypes.byref(rule),
                                 ctypes.c_uint32(0)) != 0:
                    raise OSError(ctypes.get_errno(), "landlock_add_rule")
            finally:
                os.close(fd)
        if _LIBC.syscall(_SYS_LANDLOCK_RESTRICT_SELF, ctypes.c_int(ruleset),
                         ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    finally:
        os.close(ruleset)


# --- in the parent, after a run ----------------------------------------------------------


def _own_processes() -> int:
    """How many processes (threads included) this user runs now."""
    uid, count = os.getuid(), 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry.name}/task"))
    return count


def _kill_marked(marker: str) -> None:
    """SIGKILL every process whose environment carries this run's marker (one that escaped
    the process group with setsid included)."""
    needle = f"VIBE_LS_SANDBOX={marker}".encode()
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, ProcessLookupError):
            continue
