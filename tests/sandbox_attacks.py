"""Attacks on the sandbox from a security review (issue 22), as code a model could write.

Each attack is Python run by `run_python` (or, where it is native, a C program built and run
in a `Workspace`). It prints "ESCAPED ..." when it got through. The same code run without
the sandbox (`run_unprotected`) must escape, so that each test shows the sandbox is what
stops it. Used by tests/test_sandbox.py, in this process and as an unprivileged user.
"""

from __future__ import annotations

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


def with_argv(code: str, *args: str) -> str:
    """The attack with its arguments in sys.argv[1:] (run_python takes no arguments)."""
    return f"import sys\nsys.argv[1:] = {list(args)!r}\n" + code


def serve(request: dict) -> dict:
    """Run one attack in the sandbox: {"code", "native", "argv", "limits"} -> the Outcome."""
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
        return space.run([str(space.work / "p"), *request["argv"]], limits=limits).__dict__


if __name__ == "__main__":  # as an unprivileged user: a request on stdin, the outcome out
    import json
    import sys

    print(json.dumps(serve(json.load(sys.stdin))))
