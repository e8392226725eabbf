"""Run model-written code where it cannot harm the machine or the user's files: Python
(`run_python`), and compilers and compiled programs (`Workspace.run`).

The isolation comes from the operating system (`jail`): every run is a bubblewrap sandbox
with new user, mount, PID, network, IPC and UTS namespaces, a root of read-only binds of the
system and of the interpreter or toolchain, size-bounded tmpfs for the work directory,
/tmp and /dev/shm, no capabilities, `no_new_privs`, a seccomp filter, and rlimits (CPU,
address space, file size, open files, processes). As root the code runs as `nobody`.
Inside, Landlock holds the same lines again (reads only what is bound in, writes only in
the tmpfs, no TCP, no signal out). Where the code may start more processes, a cgroup (where
one is delegated: `cgroup`) bounds the memory of the whole run.

Nothing outlives a run: the runner kills every process in the PID namespace before it
packs the work directory, and the namespace's first process ending ends the rest. The
work directory is a tmpfs that vanishes with the namespace; what a `Workspace` keeps between
runs (a compiled program) comes back as a tar stream that only the next sandbox unpacks, so
no process outside, root included, ever walks, chowns or deletes a tree the code touched.

Where the isolation cannot be set up, nothing runs: `jail.Unavailable` is raised.

Python candidates also get an in-process audit hook (blocked sockets, forks, writes outside
the work directory): a tripwire that names what was tried (reason "blocked: <event>"), not
a layer anything relies on.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import re
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from vibe_ls.verify import cgroup, jail
from vibe_ls.verify.jail import Unavailable

__all__ = ["BLOCK_MARK", "Limits", "Outcome", "Unavailable", "Workspace", "isolation",
           "run_python", "unavailable"]

OUTPUT_LIMIT = 1 << 20  # bytes of stdout and of stderr kept
BLOCK_MARK = "@@vibe-sandbox-blocked@@ "
_SETUP_FAILED = 125  # the runner's exit status when it could not prepare the work directory
# Tasks of a run besides the code's own: bwrap's two, the runner, its subshell.
_OWN_TASKS = 6


@dataclass(frozen=True)
class Limits:
    cpu_s: float = 5.0  # RLIMIT_CPU (whole seconds, rounded up)
    wall_s: float = 10.0  # wall-clock timeout, then the whole sandbox is killed
    memory_mb: int = 1024  # RLIMIT_AS
    # RLIMIT_FSIZE (also bounds what stdout and stderr can hold), and the size of each tmpfs
    # (the work directory with /tmp, and /dev/shm)
    file_mb: int = 16
    open_files: int = 64  # RLIMIT_NOFILE
    processes: int = 0  # extra processes/threads it may create (0: no fork, no threads)
    # "address": memory_mb bounds RLIMIT_AS; "data": RLIMIT_DATA, for runtimes that reserve
    # far more address space than they use (node, the JVM)
    memory_kind: str = "address"
    # Python only: our own tools that reach a native library through ctypes (CrossHair's Z3
    # solver) may; the tripwire otherwise stops ctypes. The OS layers are the same.
    ctypes: bool = False


@dataclass(frozen=True)
class Outcome:
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    reason: str  # "" when it exited normally, else "timeout", "cpu limit", "blocked: os.fork", ...
    wall_s: float


def unavailable() -> str:
    """Why nothing can be run here ("" when the sandbox works), with how to fix it."""
    reason = jail.unavailable()
    return str(Unavailable(reason)) if reason else ""


# The child's first code (a tripwire, not a layer): install the audit hook, then run the
# user's script as __main__.
_BOOTSTRAP = r'''
import os, sys, types

def _make_hook(work, allow_procs, allow_ctypes=False):
    mark = @MARK@
    wflags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    procs = frozenset({"os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn",
                       "os.spawn", "subprocess.Popen", "pty.spawn", "_thread.start_new_thread"})
    always = frozenset({"socket.__new__", "socket.connect", "socket.bind", "socket.sendto",
                        "socket.sendmsg", "gc.get_objects", "gc.get_referrers",
                        "gc.get_referents"} | (set() if allow_ctypes else {
                            "ctypes.dlsym", "ctypes.dlsym/handle", "ctypes.call_function",
                            "ctypes.cdata"}))
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
        elif event == "import" and not allow_ctypes and str(args[0]).partition(".")[0] in (
                "ctypes", "_ctypes"):
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
    allow_ctypes = sys.argv[4] == "1"
    if sys.argv[5:]:  # the Landlock rules: before anything of the candidate runs
        restrict(*split(sys.argv[5:])[0])
    for name in [m for m in sys.modules if m.partition(".")[0] in ("ctypes", "_ctypes")]:
        del sys.modules[name]  # so that importing it again meets the tripwire
    with open(script, encoding="utf-8") as f:
        code = compile(f.read(), script, "exec")
    import traceback
    sys.addaudithook(_make_hook(work, allow, allow_ctypes))
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
# Where there is no compiled launcher, the bootstrap applies the Landlock rules itself.
_BOOTSTRAP_LANDLOCK = jail.LANDLOCK_SOURCE + _BOOTSTRAP

# The first process in the sandbox (bash, as nobody when run by root): unpack the last
# run's state into the work directory (the parent's inputs, already copied in by bwrap, stay
# as they are), close the runner's descriptors, set the rlimits and run the command. When
# the work directory is to be kept, the command runs in a subshell instead; after it the
# runner kills whatever it left running and packs the work directory for the next run.
# $1 work, $2 the ulimit commands, $3 state-in fd ("" none), $4 state-out fd ("" none),
# $5 fds to close; then the command.
_BASH = ["/bin/bash", "--norc", "--noprofile", "-c"]
_RUNNER = r'''
work=$1 limits=$2 state=$3 out=$4 close=$5
shift 5
cd "$work" || exit 125
if [ -n "$state" ]; then tar -xf - <&"$state" 2>/dev/null; fi
for fd in $close; do [ "$fd" = "$out" ] || eval "exec $fd<&-"; done
if [ -z "$out" ]; then
    eval "$limits" || exit 125
    exec "$@"
fi
(
    eval "exec $out>&-"
    eval "$limits" || exit 125
    exec "$@"
)
rc=$?
kill -9 -1 2>/dev/null
tar -cf - . >&"$out" 2>/dev/null
exit $rc
'''


def run_python(code: str, stdin: str = "", limits: Limits = Limits(),
               files: dict[str, str] | None = None) -> Outcome:
    """Run `code` as a script with this interpreter (isolated mode) in a fresh sandbox whose
    work directory holds `files`, under `limits`; nothing of it remains afterwards."""
    base = f"/tmp/vibe-sandbox-{secrets.token_hex(6)}"  # a path inside the sandbox only
    inputs = {"main.py": code.encode("utf-8"), **_named(files or {}, "work/")}

    def command(box: jail.Jail) -> list[str]:
        own = box.restricts_in_bootstrap()
        return box.landlocked([
            sys.executable, "-I", "-B", "-X", "utf8", "-c",
            _BOOTSTRAP_LANDLOCK if own else _BOOTSTRAP, f"{base}/work", f"{base}/main.py",
            "1" if limits.processes > 0 else "0", "1" if limits.ctypes else "0"],
            restricts_itself=True)

    outcome, _ = _run(base, inputs, None, command, stdin, limits, {}, jail.python_prefixes())
    return outcome


class Workspace:
    """Where programs are built and run, each run in its own sandbox. The parent writes the
    inputs to `work` (a directory no sandboxed code ever touches); a run sees them, and what
    earlier runs made, at the same path inside. Removed on `close`."""

    def __init__(self, files: dict[str, str] | None = None) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="vibe-sandbox-"))
        self.work = self.base / "work"
        self.work.mkdir()
        _write_files(self.work, files or {})
        self._state: tempfile._TemporaryFileWrapper | None = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)  # only the parent ever wrote here
        if self._state is not None:
            self._state.close()
            self._state = None

    def run(self, argv: list[str], stdin: str = "", limits: Limits = Limits(),
            env: dict[str, str] | None = None, keep: bool = True) -> Outcome:
        """Run `argv` (its first element an absolute path) in the work directory, which
        it may write to; nothing else is writable to it. With `keep`, what it leaves there
        is what later runs start from (a compiler's output); without, it is dropped, and
        the run is cheaper by the packing (running a built program)."""
        inputs = _named(_read_tree(self.work), "work/")
        outcome, state = _run(str(self.base), inputs, self._state,
                              lambda box: box.landlocked(argv), stdin, limits, env or {},
                              [_tool_prefix(argv[0])], keep=keep)
        if state is not None:  # a run that was killed keeps the earlier state
            if self._state is not None:
                self._state.close()
            self._state = state
        return outcome


@functools.lru_cache(maxsize=1)
def isolation() -> dict[str, bool]:
    """Each layer of the sandbox, present or not, as code running in it sees it."""
    if jail.unavailable():
        return dict.fromkeys(_LAYERS, False)
    host = {name: os.stat(f"/proc/self/ns/{name}").st_ino for name in ("user", "pid", "net")}
    out = run_python(_PROBE, limits=Limits(cpu_s=5, wall_s=20))
    try:
        seen = json.loads(out.stdout)
    except json.JSONDecodeError:
        return dict.fromkeys(_LAYERS, False)
    status, limits = seen["status"], seen["limits"]
    return {"user namespace": seen["ns"]["user"] != host["user"],
            "pid namespace": seen["ns"]["pid"] != host["pid"] and seen["pid"] < 10,
            "network namespace": seen["ns"]["net"] != host["net"],
            "mount namespace, tmpfs work directory": seen["work_fs"] == "tmpfs",
            "seccomp": status.get("Seccomp") == "2",
            "no-new-privs": status.get("NoNewPrivs") == "1",
            "no capabilities": status.get("CapEff") == "0" * 16 == status.get("CapPrm"),
            "rlimits": all(v != -1 for v in limits),
            "unprivileged user": seen["uid"] != 0,
            "landlock": seen["landlock"]}


_LAYERS = ("user namespace", "pid namespace", "network namespace",
           "mount namespace, tmpfs work directory", "seccomp", "no-new-privs",
           "no capabilities", "rlimits", "unprivileged user", "landlock")
_PROBE = r'''
import json, os, resource
status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
status = {k: v.strip() for k, v in status.items()}
mounts = [line.split() for line in open("/proc/self/mountinfo")]
work_fs = next((m[m.index("-") + 1] for m in sorted(mounts, key=lambda m: -len(m[4]))
                if os.getcwd().startswith(m[4])), "")
try:  # readable to everyone, but no Landlock rule names it
    landlock = not os.listdir("/")
except PermissionError:
    landlock = True
print(json.dumps({"ns": {n: os.stat(f"/proc/self/ns/{n}").st_ino for n in ("user", "pid", "net")},
                  "pid": os.getpid(), "uid": os.geteuid(), "status": status, "work_fs": work_fs,
                  "landlock": landlock,
                  "limits": [resource.getrlimit(r)[1] for r in (resource.RLIMIT_CPU,
                             resource.RLIMIT_AS, resource.RLIMIT_FSIZE, resource.RLIMIT_NPROC)]}))
'''


def _run(base: str, inputs: dict[str, bytes], state, command, stdin: str,
         limits: Limits, extra_env: dict[str, str], prefixes: list[str], keep: bool = False):
    """One sandboxed run of `command(jail)` (the command line, with its Landlock launcher):
    (its Outcome, the work directory packed for the next run when `keep`, else None; None
    too when the run did not end by itself)."""
    reason = jail.unavailable()
    if reason:
        raise Unavailable(reason)
    work = f"{base}/work"
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": work,
           "TMPDIR": work, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", **extra_env}
    with contextlib.ExitStack() as stack:
        fin, fout, ferr = (stack.enter_context(tempfile.TemporaryFile()) for _ in range(3))
        fin.write(stdin.encode("utf-8"))
        fin.seek(0)
        state_out = tempfile.TemporaryFile() if keep else None  # noqa: SIM115 (returned)
        box = stack.enter_context(jail.Jail(limits.file_mb, prefixes, base, inputs))
        group = stack.enter_context(contextlib.closing(_run_group(limits)))
        status = stack.enter_context(_StatusPipe())
        fds = [f.fileno() for f in (state, state_out) if f is not None]
        if state is not None:
            state.seek(0)
        runner = [*_BASH, _RUNNER, "bash", work, _ulimits(limits),
                  str(state.fileno()) if state else "",
                  str(state_out.fileno()) if state_out else "",
                  " ".join(map(str, fds + box.fds + [status.write])),
                  *command(box)]
        bwrap, *rest = box.argv(work, env, runner)
        argv = group.enter([bwrap, "--json-status-fd", str(status.write), *rest])
        outcome, ended = _supervise(argv, [*box.fds, *fds, status.write], fin, fout, ferr,
                                    limits, status, group)
    if state_out is not None and not ended:
        state_out.close()
        state_out = None
    if state_out is not None:
        state_out.seek(0)
    return outcome, state_out


def _run_group(limits: Limits) -> cgroup.RunGroup:
    """The run's cgroups: its memory bound is what one process may have and its tmpfs
    places (the work directory with /tmp, /dev/shm) full. Only where the code may start
    more processes or is bounded by RLIMIT_DATA: one process under RLIMIT_AS is bounded
    already, and joining a cgroup costs 15-20 ms a run (on the loaded 2-core VM)."""
    if limits.processes == 0 and limits.memory_kind == "address":
        return cgroup.RunGroup(0, 0, controllers=())
    return cgroup.RunGroup((limits.memory_mb + 2 * limits.file_mb) << 20,
                           limits.processes + _OWN_TASKS)


def _supervise(argv: list[str], fds: list[int], fin, fout, ferr, limits: Limits,
               pipe: _StatusPipe, group: cgroup.RunGroup):
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdin=fin, stdout=fout, stderr=ferr, pass_fds=fds,
                            start_new_session=True)
    init = pipe.namespace_init(start + limits.wall_s)
    timed_out = not _wait_exit(proc.pid, start + limits.wall_s)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # bwrap's child dies with it (die-with-parent)
    _, status, usage = os.wait4(proc.pid, 0)
    if init is not None:
        _wait_gone(init)
    wall = time.monotonic() - start
    proc.returncode = _code(os.waitstatus_to_exitcode(status))
    stdout, stderr = _read_output(fout), _read_output(ferr)
    stderr, blocked = _split_markers(stderr)
    if proc.returncode == _SETUP_FAILED or stderr.startswith("bwrap:"):
        blocked = blocked or "the sandbox could not be set up: " + stderr.strip()[:300]
        return Outcome(proc.returncode, stdout, stderr, timed_out, blocked, wall), False
    cpu = usage.ru_utime + usage.ru_stime
    reason = _reason(proc.returncode, timed_out, stderr, cpu, limits, blocked,
                     group.out_of_memory())
    return Outcome(proc.returncode, stdout, stderr, timed_out, reason, wall), not timed_out


def _code(status: int) -> int:
    """The command's status as subprocess gives it: the shell reports a signal n as 128+n."""
    return -(status - 128) if 128 < status < 128 + 65 else status


def _ulimits(limits: Limits) -> str:
    """The runner's ulimit commands (bash: -f, -v and -d in KiB; -u processes)."""
    cpu = max(1, math.ceil(limits.cpu_s))
    memory = "-v" if limits.memory_kind == "address" else "-d"
    # RLIMIT_NPROC counts this user's processes in the sandbox's user namespace: the
    # runner and the command.
    nproc = 2 + limits.processes
    return (f"ulimit -t {cpu + 1} && ulimit -S -t {cpu} && ulimit {memory} "
            f"{limits.memory_mb * 1024} && ulimit -f {limits.file_mb * 1024} && "
            f"ulimit -n {limits.open_files} && ulimit -c 0 && ulimit -u {nproc}")


def _named(files: dict[str, str | bytes], prefix: str) -> dict[str, bytes]:
    named = {}
    for name, content in files.items():
        rel = Path(name)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise ValueError(f"sandbox file name must be relative, inside the sandbox: {name!r}")
        named[prefix + rel.as_posix()] = content if isinstance(content, bytes) else \
            content.encode("utf-8")
    return named


def _read_tree(root: Path) -> dict[str, bytes]:
    """The files the parent wrote under `root` (no sandboxed code writes there)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


def _write_files(work: Path, files: dict[str, str]) -> None:
    for name, content in _named(files, "").items():
        path = work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def _tool_prefix(program: str) -> str:
    """The installation a program belongs to: the parent of its bin/ directory (a rustup
    toolchain, a JDK), else its own directory."""
    where = os.path.dirname(os.path.realpath(program))
    return os.path.dirname(where) if os.path.basename(where) == "bin" else where


class _StatusPipe:
    """bwrap's status descriptor: it names the host pid of the PID namespace's first
    process. When that process has exited, the kernel has killed and reaped every other
    process of the namespace, so waiting for it makes "nothing outlives a run" hold the
    moment a run returns (after a wall-clock kill too, where bwrap's own exit came first)."""

    def __enter__(self) -> _StatusPipe:
        self.read, self.write = os.pipe()
        return self

    def __exit__(self, *_exc) -> None:
        for fd in (self.read, self.write):
            if fd >= 0:
                os.close(fd)

    def namespace_init(self, deadline: float) -> int | None:
        """A pidfd of the namespace's first process, once bwrap has said which it is."""
        os.close(self.write)  # bwrap has its own copy: end of file once it is gone
        self.write = -1
        text = b""
        while b"}" not in text and time.monotonic() < deadline:
            ready, _, _ = select.select([self.read], [], [], deadline - time.monotonic())
            chunk = os.read(self.read, 4096) if ready else b""
            if not chunk:
                break
            text += chunk
        found = re.search(rb'"child-pid"\s*:\s*(\d+)', text)
        if found is None:
            return None
        try:
            return os.pidfd_open(int(found[1]))
        except ProcessLookupError:
            return None


def _wait_gone(pidfd: int, seconds: float = 10.0) -> None:
    try:
        with select.epoll() as poll:
            poll.register(pidfd, select.EPOLLIN)
            poll.poll(seconds)
    finally:
        os.close(pidfd)


def _wait_exit(pid: int, deadline: float) -> bool:
    """Wait until `pid` has exited (left unreaped, so its process group id stays taken);
    False when the deadline passed first. A pidfd wakes us the moment it exits, where
    polling with a growing sleep added up to 20 ms to every run."""
    fd = os.pidfd_open(pid)
    try:
        with select.epoll() as poll:
            poll.register(fd, select.EPOLLIN)
            while not poll.poll(max(0.0, deadline - time.monotonic())):
                if time.monotonic() >= deadline:
                    return False
        return True
    finally:
        os.close(fd)


def _reason(rc: int | None, timed_out: bool, stderr: str, cpu: float, limits: Limits,
            blocked: str, out_of_memory: bool = False) -> str:
    if timed_out:
        return "timeout"
    if blocked:
        return f"blocked: {blocked}"
    if out_of_memory:  # the kernel killed a process of the run, perhaps not the first
        return "memory limit"
    if rc == -signal.SIGXCPU or (rc == -signal.SIGKILL and cpu >= math.ceil(limits.cpu_s)):
        return "cpu limit"
    if rc == -signal.SIGXFSZ or (rc and ("File too large" in stderr
                                         or "No space left on device" in stderr)):
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
