"""The sandbox that runs model-written code: each test runs real code in a real subprocess."""

from __future__ import annotations

import os
import resource
import shutil
import socket
import time
from pathlib import Path

import pytest

from vibe_ls.sandbox import Limits, Workspace, isolation, run_python

FAST = Limits(cpu_s=2, wall_s=10)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def test_normal_code_gets_stdin_and_returns_output() -> None:
    code = "import sys\nname = input()\nprint('hello', name)\nprint('err', file=sys.stderr)"
    out = run_python(code, stdin="world\n", limits=FAST)
    assert (out.returncode, out.stdout, out.stderr) == (0, "hello world\n", "err\n")
    assert (out.timed_out, out.reason) == (False, "")


def test_exceptions_are_reported_with_the_user_traceback() -> None:
    out = run_python("x = 1\nraise ValueError('boom')\n", limits=FAST)
    assert out.returncode == 1 and out.reason == ""
    assert "line 2" in out.stderr and out.stderr.rstrip().endswith("ValueError: boom")


def test_files_are_visible_and_the_directory_is_removed() -> None:
    code = ("import os\nprint(os.getcwd())\nprint(open('data.txt').read())\n"
            "print(open('d/x').read())")
    out = run_python(code, files={"data.txt": "abc", "d/x": "nested"}, limits=FAST)
    assert out.returncode == 0, out.stderr
    cwd, data, nested = out.stdout.splitlines()
    assert (data, nested) == ("abc", "nested")
    assert not os.path.exists(cwd)
    assert not os.path.exists(os.path.dirname(cwd))


def test_infinite_loop_is_stopped_by_the_cpu_limit() -> None:
    out = run_python("while True:\n    pass\n", limits=Limits(cpu_s=1, wall_s=10))
    assert out.reason == "cpu limit" and not out.timed_out
    assert out.wall_s < 4


def test_sleeping_code_is_stopped_by_the_wall_clock() -> None:
    out = run_python("import time\ntime.sleep(60)\n", limits=Limits(cpu_s=5, wall_s=1))
    assert out.timed_out and out.reason == "timeout"
    assert 1 <= out.wall_s < 3


def test_huge_allocation_is_stopped_by_the_memory_limit() -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out = run_python("b = bytearray(10 * 1024 ** 3)\nprint('allocated')\n", limits=FAST)
    assert out.reason == "memory limit" and "MemoryError" in out.stderr
    assert out.stdout == ""
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KiB


def test_fork_subprocess_and_system_are_blocked() -> None:
    cases = {"import os\nos.fork()": "blocked: os.fork",
             "import subprocess\nsubprocess.run(['true'])": "blocked: subprocess.Popen",
             "import os\nos.system('true')": "blocked: os.system",
             "import os\nos.kill(1, 0)": "blocked: os.kill"}
    for code, reason in cases.items():
        out = run_python(code, limits=FAST)
        assert out.returncode == 1 and out.reason == reason, (code, out)
        assert "PermissionError" in out.stderr


def test_ctypes_cannot_reach_libc() -> None:
    out = run_python("import ctypes\n", limits=FAST)
    assert out.returncode == 1 and "ImportError" in out.stderr


def test_deleting_a_file_outside_the_sandbox_fails(tmp_path: Path) -> None:
    sentinel = tmp_path / "keep.txt"
    sentinel.write_text("precious")
    for code, reason in ((f"import os\nos.remove({str(sentinel)!r})", "blocked: os.remove"),
                         (f"open({str(sentinel)!r}, 'w').write('x')", "blocked: open"),
                         (f"import shutil\nshutil.rmtree({str(tmp_path)!r})",
                          "blocked: shutil.rmtree")):
        out = run_python(code, limits=FAST)
        assert out.returncode == 1 and out.reason == reason, (code, out)
    assert sentinel.read_text() == "precious"


def test_work_inside_the_sandbox_directory_is_allowed() -> None:
    code = ("import os, shutil, tempfile\nos.makedirs('a/b')\nopen('a/b/c', 'w').write('x')\n"
            "shutil.rmtree('a')\nt = tempfile.mkdtemp()\nos.rmdir(t)\nprint(os.listdir('.'))")
    out = run_python(code, limits=FAST)
    assert (out.returncode, out.stdout, out.reason) == (0, "[]\n", ""), out.stderr


def test_a_100_mb_file_is_stopped_by_the_file_size_limit() -> None:
    code = "f = open('big', 'wb')\nf.write(b'x' * (100 << 20))\nprint('written')\n"
    out = run_python(code, limits=Limits(cpu_s=5, wall_s=10, file_mb=16))
    assert out.reason == "file size limit" and out.returncode != 0
    assert "written" not in out.stdout


def test_connecting_to_a_local_socket_is_blocked() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        code = f"import socket\ns = socket.socket()\ns.connect(('127.0.0.1', {port}))\nprint('in')"
        out = run_python(code, limits=FAST)
        assert out.reason == "blocked: socket.__new__" and out.stdout == ""
        server.settimeout(0.5)
        try:
            server.accept()
        except TimeoutError:
            pass
        else:
            raise AssertionError("the sandboxed code reached the listening socket")


def test_children_are_killed_at_the_end() -> None:
    code = "import subprocess\np = subprocess.Popen(['sleep', '60'])\nprint(p.pid)\n"
    out = run_python(code, limits=Limits(cpu_s=5, wall_s=10, processes=2))
    assert out.returncode == 0 and out.reason == "", out.stderr
    pid = int(out.stdout)
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


def test_output_is_truncated() -> None:
    out = run_python("print('x' * 3_000_000)", limits=FAST)
    assert out.returncode == 0
    assert len(out.stdout) < 1_100_000 and out.stdout.endswith("[output truncated]\n")


def test_isolation_report_matches_what_the_code_sees() -> None:
    iso = isolation()
    assert iso["audit_hook"] is True
    code = "import os\nprint(os.geteuid(), os.readlink('/proc/self/ns/net'))"
    uid, netns = run_python(code, limits=FAST).stdout.split()
    assert iso["network_namespace"] == (netns != os.readlink("/proc/self/ns/net"))
    assert iso["unprivileged_user"] == (uid != "0")
    if os.geteuid() == 0:
        assert iso["unprivileged_user"], "as root the code must run as nobody"


# --- compiled programs (Workspace): no audit hook, the OS-level layers alone ---------------

NATIVE = r'''
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    const char *what = argv[1];
    if (!strcmp(what, "delete")) printf("%d\n", unlink(argv[2]));
    if (!strcmp(what, "write")) printf("%d\n", fopen(argv[2], "w") != NULL);
    if (!strcmp(what, "inside")) printf("%d\n", fopen("made.txt", "w") != NULL);
    if (!strcmp(what, "fork")) printf("%d\n", fork() >= 0);
    if (!strcmp(what, "escape")) {  /* a child that leaves the process group, then sleeps */
        if (fork() == 0) { setsid(); printf("%d\n", getpid()); fflush(stdout); sleep(600); }
        sleep(600);
    }
    if (!strcmp(what, "memory")) {
        size_t n = 10ull << 30;
        char *p = malloc(n);
        printf("%d\n", p != NULL);
        if (p) for (size_t i = 0; i < n; i += 4096) p[i] = 1;
    }
    if (!strcmp(what, "loop")) for (;;) {}
    if (!strcmp(what, "socket")) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {0};
        a.sin_family = AF_INET;
        a.sin_port = htons((unsigned short) atoi(argv[2]));
        a.sin_addr.s_addr = htonl(0x7f000001);
        printf("%d\n", s >= 0 && connect(s, (struct sockaddr *) &a, sizeof a) == 0);
    }
    fflush(stdout);
    return 0;
}
'''


@pytest.fixture(scope="module")
def native():
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("no C compiler")
    with Workspace({"p.c": NATIVE}) as space:
        built = space.run([gcc, "-O1", "-o", "p", "p.c"],
                          limits=Limits(cpu_s=30, wall_s=60, processes=16, file_mb=64))
        assert built.returncode == 0, built.stderr
        yield space


def _native(space, *args: str, limits: Limits = FAST):
    return space.run([str(space.work / "p"), *args], limits=limits)


def test_native_code_cannot_touch_files_outside(native, tmp_path: Path) -> None:
    victim = tmp_path / "keep.txt"
    victim.write_text("mine")
    assert _native(native, "delete", str(victim)).stdout == "-1\n"
    assert _native(native, "write", str(tmp_path / "new.txt")).stdout == "0\n"
    assert victim.read_text() == "mine" and not (tmp_path / "new.txt").exists()
    assert _native(native, "inside").stdout == "1\n"


def test_native_code_cannot_fork() -> None:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("no C compiler")
    with Workspace({"p.c": NATIVE}) as space:
        assert space.run([gcc, "-o", "p", "p.c"], limits=Limits(
            cpu_s=30, wall_s=60, processes=16, file_mb=64)).returncode == 0
        assert _native(space, "fork").stdout == "0\n"


def test_native_children_that_leave_the_group_are_killed(native) -> None:
    out = _native(native, "escape", limits=Limits(cpu_s=2, wall_s=1, processes=4))
    assert out.timed_out
    child = int(out.stdout.split()[0])
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_native_memory_loops_and_sockets_are_stopped(native) -> None:
    assert _native(native, "memory").stdout == "0\n"  # RLIMIT_AS: malloc(10 GB) fails
    looped = _native(native, "loop", limits=Limits(cpu_s=1, wall_s=10))
    assert looped.reason == "cpu limit" and looped.wall_s < 4
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert _native(native, "socket", str(port)).stdout == "0\n"
