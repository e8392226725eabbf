"""The operating system's isolation for model-written code: a bubblewrap (`bwrap`) command
line that runs a program in new user, mount, PID, network, IPC and UTS namespaces, on a root
of read-only binds, with size-bounded tmpfs for its writable places, no capabilities,
`no_new_privs` and a seccomp filter; and the Landlock rules (`landlock`) that the program
applies to itself inside, through a launcher, as a second layer.

`sandbox` builds on this; nothing here trusts the code that runs inside. Where the isolation
cannot be set up (`unavailable()` says why) nothing is run: there is no weaker fallback.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from vibe_ls.verify import landlock, launcher

HOW_TO_GET = ("install bubblewrap: `sudo apt-get install bubblewrap` (Debian, Ubuntu), "
              "`sudo dnf install bubblewrap` (Fedora), or run `vibe-ls setup` as root; "
              "the kernel must allow user namespaces")

# Run as root, the code becomes this user: the sandbox maps it, and root, into a user
# namespace of its own (see `_root_userns`).
NOBODY = 65534
SETPRIV = "/usr/bin/setpriv"

# What the code can see, read-only. /etc only in the pieces that loaders and toolchains
# read (no shadow, no keys); /etc/alternatives because Debian's cc and java go through it.
_SYSTEM = ("/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin")
_ETC = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives",
        "/etc/localtime", "/etc/java-*", "/etc/ssl/certs")

# System calls that candidate code, compilers and runtimes never need, refused with EPERM:
# debugging other processes, mounts and namespaces, kernel keyrings, BPF, module and kexec
# loading, perf, userfaultfd and io_uring (both common in kernel exploits), and memory that
# no rlimit counts (memfd, System V shared memory).
_REFUSED = ("ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
            "mount", "umount2", "pivot_root", "move_mount", "open_tree", "fsopen", "fsconfig",
            "fsmount", "fspick", "mount_setattr", "unshare", "setns", "chroot",
            "bpf", "keyctl", "add_key", "request_key", "kexec_load", "kexec_file_load",
            "init_module", "finit_module", "delete_module", "perf_event_open", "userfaultfd",
            "io_uring_setup", "io_uring_enter", "io_uring_register", "memfd_create",
            "memfd_secret", "shmget", "shmat", "reboot", "swapon", "swapoff", "acct",
            "quotactl", "syslog", "iopl", "ioperm", "name_to_handle_at",
            "open_by_handle_at", "lookup_dcookie", "personality", "vhangup",
            "settimeofday", "clock_settime", "clock_adjtime", "adjtimex")
_NAMESPACE_FLAGS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000,
                    0x40000000)  # CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET
_TIOCSTI = 0x5412

_LIBC = ctypes.CDLL(None, use_errno=True)


class Unavailable(RuntimeError):
    """The isolation cannot be set up on this machine, so the code was not run."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"no sandbox on this machine ({reason}; {HOW_TO_GET})")
        self.reason = reason


def bwrap() -> str | None:
    return shutil.which("bwrap") or next(
        (p for p in ("/usr/bin/bwrap", "/usr/local/bin/bwrap") if os.access(p, os.X_OK)), None)


@functools.lru_cache(maxsize=1)
def unavailable() -> str:
    """Why the isolation cannot be set up here ("" when it can): bwrap, seccomp and the
    namespaces are each tried for real."""
    if bwrap() is None:
        return "bubblewrap (bwrap) is not installed"
    if os.geteuid() == 0 and not os.access(SETPRIV, os.X_OK):
        return f"{SETPRIV} (util-linux) is missing"
    try:
        seccomp_program()
    except (ImportError, OSError) as exc:
        return f"no seccomp filter can be built: {exc}"
    try:
        with Jail(tmpfs_mb=1) as jail:
            done = subprocess.run(jail.argv("/", {}, ["/bin/true"]), pass_fds=jail.fds,
                                  capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"bwrap could not start: {exc}"
    if done.returncode != 0:
        return "bwrap could not create the namespaces: " + (
            done.stderr.strip().splitlines() or ["no message"])[-1]
    return ""


# --- seccomp ------------------------------------------------------------------------------


def _seccomp_module():
    """libseccomp's Python bindings: Debian's python3-seccomp where this interpreter sees
    it, else pyseccomp (the same API over the system's libseccomp, installed with vibe-ls)."""
    try:
        import seccomp  # type: ignore[import-not-found]
    except ImportError:
        import pyseccomp as seccomp  # type: ignore[import-untyped]
    return seccomp


@functools.lru_cache(maxsize=1)
def seccomp_program() -> bytes:
    """The compiled BPF filter bwrap loads before it runs the program (default: allow)."""
    sc = _seccomp_module()
    refuse = sc.ERRNO(errno.EPERM)
    rules = sc.SyscallFilter(sc.ALLOW)
    for name in _REFUSED:
        with contextlib.suppress(OSError, ValueError):  # a call this libseccomp does not know
            rules.add_rule(refuse, name)
    for flag in _NAMESPACE_FLAGS:
        rules.add_rule(refuse, "clone", sc.Arg(0, sc.MASKED_EQ, flag, flag))
    # clone3 passes its flags in memory a filter cannot read: ENOSYS makes libc use clone.
    rules.add_rule(sc.ERRNO(errno.ENOSYS), "clone3")
    rules.add_rule(refuse, "ioctl", sc.Arg(1, sc.MASKED_EQ, 0xFFFFFFFF, _TIOCSTI))
    with tempfile.TemporaryFile() as out:
        rules.export_bpf(out)
        out.seek(0)
        return out.read()


# --- root: a user namespace where the code is nobody --------------------------------------

_USERNS_LOCK = threading.Lock()
_userns_fd: int | None = None


def _root_userns() -> int:
    """As root, bwrap would map root into its namespace and the code would run as host
    root (owner of every root file it can see). Instead: a user namespace, made once, that
    maps root (so bwrap can still bind an interpreter under /root) and nobody; the runner
    inside becomes nobody before the code starts. Kept alive by this descriptor."""
    global _userns_fd
    with _USERNS_LOCK:
        if _userns_fd is None:
            _userns_fd = _make_userns()
        return _userns_fd


def _make_userns() -> int:
    ready_r, ready_w = os.pipe()
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: a new user namespace, then wait for its maps to be written
        try:
            os.close(ready_r)
            os.close(done_w)
            ok = _LIBC.unshare(0x10000000) == 0
            os.write(ready_w, b"1" if ok else b"0")
            os.read(done_r, 1)
        finally:
            os._exit(0)
    os.close(ready_w)
    os.close(done_r)
    try:
        if os.read(ready_r, 1) != b"1":
            raise OSError(errno.EPERM, "unshare(CLONE_NEWUSER) was refused")
        maps = f"0 0 1\n{NOBODY} {NOBODY} 1\n"
        for name, text in (("uid_map", maps), ("setgroups", "allow"), ("gid_map", maps)):
            with open(f"/proc/{pid}/{name}", "w") as f:
                f.write(text)
        return os.open(f"/proc/{pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(ready_r)
        os.close(done_w)
        os.waitpid(pid, 0)


# --- the command line ---------------------------------------------------------------------


def _existing(patterns) -> list[str]:
    return sorted({p for pattern in patterns for p in glob.glob(pattern)})


def _system_binds() -> list[str]:
    args: list[str] = []
    for path in _existing(_SYSTEM) + _existing(_ETC):
        if os.path.islink(path) and path in _SYSTEM:  # merged /usr: /bin -> usr/bin
            args += ["--symlink", os.readlink(path), path]
        else:
            args += [*_parents(path), "--ro-bind", path, path]
    return args


def _parents(path: str) -> list[str]:
    """Create the directories above a bind as 0755 first: bwrap would make them 0700
    here, which the code (nobody) could not search."""
    parent = os.path.dirname(path)
    return [] if parent == "/" else ["--perms", "0755", "--dir", parent]


def _outside_system(prefixes: list[str]) -> list[str]:
    """The interpreter's or toolchain's own directories that the system binds miss."""
    return [path for path in sorted(set(prefixes)) if path and os.path.isdir(path) and not (
        path.startswith(tuple(p + "/" for p in _SYSTEM)) or path in _SYSTEM)]


def _prefix_binds(prefixes: list[str]) -> list[str]:
    """Read-only binds of those directories; their parents made searchable, as under /root
    they would not be."""
    return [a for path in _outside_system(prefixes) for a in ("--dir", path, "--ro-bind",
                                                              path, path)]


@functools.lru_cache(maxsize=1)
def python_prefixes() -> list[str]:
    """What this interpreter needs to start: its venv, its installation, the real binary."""
    return [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
            os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))]


@functools.lru_cache(maxsize=1)
def landlock_abi() -> int:
    """The Landlock ABI the sandbox's second layer gets here (0: this kernel has none)."""
    try:
        return landlock.abi()
    except (OSError, AttributeError):  # no syscall(3) in this libc
        return 0


# The launcher where no compiled one could be built: restrict, then exec the command. Only
# the standard library, -S: it runs where vibe-ls is not importable, in about 10 ms.
LANDLOCK_SOURCE = Path(landlock.__file__).read_text(encoding="utf-8")
LAUNCHER = LANDLOCK_SOURCE + "\nimport sys\nlaunch(sys.argv[1:])\n"


class Jail:
    """One sandboxed run's bwrap command line and the descriptors it needs (the seccomp
    program, and as root the user namespace); a context manager that closes them."""

    def __init__(self, tmpfs_mb: int, prefixes: list[str] = (), base: str = "",
                 inputs: dict[str, bytes] | None = None) -> None:
        self.tmpfs_mb = tmpfs_mb
        self.launcher = launcher.native() if landlock_abi() else None  # None: the Python one
        self.prefixes = list(prefixes) + self._launcher_prefixes()
        self.base = base  # holds the inputs and the work directory ("": none)
        self.as_root = os.geteuid() == 0
        self.fds: list[int] = []
        try:
            read, write = os.pipe()
            self.fds.append(read)
            os.write(write, seccomp_program())  # a few hundred bytes: fits the pipe's buffer
            os.close(write)
            if self.as_root:
                self.fds.append(_root_userns())
            self.files = self._input_files(inputs or {})
        except BaseException:
            self.__exit__()
            raise

    def _input_files(self, inputs: dict[str, bytes]) -> list[tuple[int, str]]:
        """Each input in a memfd that bwrap copies into the sandbox's tmpfs."""
        files = []
        for name, data in sorted(inputs.items()):
            fd = os.memfd_create("vibe-input", os.MFD_CLOEXEC)
            self.fds.append(fd)
            os.write(fd, data)
            os.lseek(fd, 0, os.SEEK_SET)
            files.append((fd, f"{self.base}/{name}"))
        return files

    def __enter__(self) -> Jail:
        return self

    def __exit__(self, *exc: object) -> None:
        for fd in self.fds:
            if not (self.as_root and len(self.fds) > 1 and fd == self.fds[1]):
                os.close(fd)  # the shared user namespace stays open
        self.fds = []

    def namespaces(self) -> list[str]:
        common = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                  "--unshare-cgroup-try"]
        if self.as_root:
            # Enough for setpriv, the first command, to become nobody; the runner and the
            # code get none of it.
            caps = ["CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP"]
            return ["--userns", str(self.fds[1]), *common, "--cap-drop", "ALL",
                    *(a for cap in caps for a in ("--cap-add", cap))]
        return ["--unshare-user", "--disable-userns", *common, "--cap-drop", "ALL"]

    def mounts(self) -> list[str]:
        size = str(self.tmpfs_mb << 20)
        # The interpreter's and toolchain's directories go on top of the private /tmp: a
        # project cloned under /tmp (a CI runner's) has its virtual environment there.
        args = [*_system_binds(), "--proc", "/proc", "--dev", "/dev",
                "--perms", "1777", "--size", size, "--tmpfs", "/tmp",
                "--perms", "1777", "--size", size, "--tmpfs", "/dev/shm",
                *_prefix_binds(self._bound_prefixes())]
        if self.base and not self.base.startswith("/tmp/"):
            args += ["--size", size, "--tmpfs", self.base]
        # The root and /dev are bwrap's own tmpfs, unbounded and, for an ordinary user,
        # writable: read-only once everything is in place.
        return args + self._work_tree() + ["--remount-ro", "/dev", "--remount-ro", "/"]

    def _bound_prefixes(self) -> list[str]:
        return [p for p in self.prefixes if not self._in_work_tree(p)]

    def readable(self) -> list[str]:
        """Where Landlock lets the code read and execute: what is bound in, /proc, and
        the base directory with the inputs."""
        return [*_existing(_SYSTEM), *_existing(_ETC), *_outside_system(self._bound_prefixes()),
                "/proc", *([self.base] if self.base else [])]

    def writable(self) -> list[str]:
        """Where Landlock lets the code write: the tmpfs places only."""
        return [*([f"{self.base}/work"] if self.base else []), "/tmp", "/dev/shm"]

    def landlock_rules(self) -> list[str]:
        """The rules as the launchers and the Python bootstrap take them ([]: no Landlock)."""
        if not landlock_abi():
            return []
        return landlock.arguments(self.readable(), self.writable(), ["/dev"])

    def restricts_in_bootstrap(self) -> bool:
        """Whether a Python candidate applies the Landlock rules in its own bootstrap: where
        there is Landlock but no compiled launcher (which saves it importing ctypes)."""
        return bool(landlock_abi()) and self.launcher is None

    def landlocked(self, command: list[str], restricts_itself: bool = False) -> list[str]:
        """`command` started through the Landlock launcher (as it is without Landlock):
        the compiled one where it could be built, else this interpreter; or, when it
        `restricts_itself` (our Python bootstrap) and there is no compiled launcher, with
        the rules after its arguments."""
        if not landlock_abi():
            return command
        if restricts_itself and self.restricts_in_bootstrap():
            return [*command, *self.landlock_rules()]
        start = [self.launcher] if self.launcher else [sys.executable, "-I", "-S", "-c",
                                                       LAUNCHER]
        return [*start, *self.landlock_rules(), *command]

    def _launcher_prefixes(self) -> list[str]:
        """Where the Landlock launcher lives, bound in too."""
        if not landlock_abi():
            return []
        return [os.path.dirname(self.launcher)] if self.launcher else python_prefixes()

    def _in_work_tree(self, path: str) -> bool:
        """A program built in the work directory is found there, not bound over it."""
        return bool(self.base) and (path == self.base or path.startswith(self.base + "/"))

    def _work_tree(self) -> list[str]:
        """The base directory (not writable to the code: the inputs it holds stay as the
        parent wrote them), and in it the work directory, writable; sticky, so that the
        code cannot remove or replace the inputs copied there."""
        if not self.base:
            return []
        args = ["--dir", self.base, "--perms", "1777", "--dir", f"{self.base}/work"]
        dirs = {os.path.dirname(dest) for _, dest in self.files}
        for path in sorted(dirs - {self.base, f"{self.base}/work"}):
            args += ["--perms", "1777", "--dir", path]
        for fd, dest in self.files:
            args += ["--perms", "0644", "--file", str(fd), dest]
        return args

    def argv(self, cwd: str, env: dict[str, str], command: list[str]) -> list[str]:
        setenv = [a for name, value in env.items() for a in ("--setenv", name, value)]
        if self.as_root:
            command = [SETPRIV, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
                       "--inh-caps=-all", "--bounding-set=-all", "--", *command]
        return [bwrap() or "bwrap", *self.namespaces(), "--die-with-parent", "--new-session",
                "--seccomp", str(self.fds[0]), *self.mounts(), "--chdir", cwd,
                "--clearenv", *setenv, *command]


# --- getting bubblewrap -------------------------------------------------------------------


def ensure_installed(progress=print) -> bool:
    """Install bubblewrap with apt-get where it is missing and this is root on Debian or
    Ubuntu (what `vibe-ls setup` does); otherwise say how. True when bwrap is there."""
    if bwrap() is not None:
        return True
    apt = shutil.which("apt-get")
    if os.geteuid() != 0 or apt is None:
        progress(f"the sandbox for verified implementations needs bubblewrap: {HOW_TO_GET}")
        return False
    progress("installing bubblewrap (the sandbox for verified implementations)…")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in ([apt, "update", "-qq"], [apt, "install", "-y", "-qq", "bubblewrap"]):
        done = subprocess.run(argv, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            progress(f"apt-get could not install bubblewrap: {done.stderr.strip()[-300:]}")
            return False
    unavailable.cache_clear()
    return bwrap() is not None
