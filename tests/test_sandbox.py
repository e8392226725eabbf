"""The sandbox that runs model-written code: each test runs real code in a real subprocess."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

import pytest
import sandbox_attacks
from conftest import REPO

from vibe_ls.verify import cgroup, jail
from vibe_ls.verify.sandbox import Limits, Workspace, isolation, run_python

FAST = Limits(cpu_s=2, wall_s=10)


def _processes_with(token: str) -> list[int]:
    """Host processes whose command line carries `token` (not zombies)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if token.encode() in cmdline and state not in ("Z", "X"):
            found.append(int(entry.name))
    return found


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
    token = f"vibe-child-{secrets.token_hex(4)}"
    code = f"import subprocess\np = subprocess.Popen(['sleep', '60', {token!r}])\nprint(p.pid)\n"
    out = run_python(code, limits=Limits(cpu_s=5, wall_s=10, processes=2))
    assert out.returncode == 0 and out.reason == "", out.stderr
    assert _processes_with(token) == []


def test_output_is_truncated() -> None:
    out = run_python("print('x' * 3_000_000)", limits=FAST)
    assert out.returncode == 0
    assert len(out.stdout) < 1_100_000 and out.stdout.endswith("[output truncated]\n")


def test_isolation_report_lists_every_layer_present() -> None:
    layers = isolation()
    assert set(layers) >= {"user namespace", "pid namespace", "network namespace",
                           "mount namespace, tmpfs work directory", "seccomp",
                           "no-new-privs", "no capabilities", "rlimits", "landlock"}
    if not jail.landlock_abi():  # a kernel without it: the layer is reported missing
        assert not layers.pop("landlock")
    assert all(layers.values()), layers
    uid = run_python("import os\nprint(os.geteuid())", limits=FAST).stdout.strip()
    assert uid != "0"


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


def test_native_memory_loops_and_sockets_are_stopped(native) -> None:
    assert _native(native, "memory").stdout == "0\n"  # RLIMIT_AS: malloc(10 GB) fails
    looped = _native(native, "loop", limits=Limits(cpu_s=1, wall_s=10))
    assert looped.reason == "cpu limit" and looped.wall_s < 4
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert _native(native, "socket", str(port)).stdout == "0\n"


# --- attacks from the security review (issue 22) ------------------------------------------
#
# Each runs in the sandbox as this user and, when this user is root, again as an
# unprivileged one (nobody, through tests/sandbox_attacks.py with the system Python, which
# nobody can reach). Each also runs once without the sandbox, where it must get through:
# the sandbox is what stops it. After every sandboxed run: the victim file is as it was,
# no process is left, nothing new in /dev/shm or /tmp.

ATTACKERS = ["root", "user"] if os.geteuid() == 0 else ["user"]
NOBODY = 65534
SYSTEM_PYTHON = "/usr/bin/python3"


@pytest.fixture(params=ATTACKERS)
def attacker(request) -> str:
    if request.param == "user" and os.geteuid() == 0 and not os.access(SYSTEM_PYTHON, os.X_OK):
        pytest.skip("no system Python for the unprivileged user")
    return request.param


def _uid(attacker: str) -> int | None:
    """The uid to switch to for `attacker` (None: stay as this process is)."""
    return NOBODY if attacker == "user" and os.geteuid() == 0 else None


@pytest.fixture
def victim(attacker: str):
    """A file the attacker owns (so that, unprotected, it could change it), outside."""
    home = Path(tempfile.mkdtemp(prefix="vibe-victim-"))
    target = home / "keep.txt"
    target.write_text("precious")
    target.chmod(0o644)
    uid = _uid(attacker)
    if uid is not None:
        for path in (home, target):
            os.chown(path, uid, uid)
    yield target
    shutil.rmtree(home, ignore_errors=True)


def _state(path: Path) -> tuple:
    st = os.lstat(path)
    try:
        attrs = os.listxattr(path)
    except OSError:
        attrs = []
    return (path.read_text(), st.st_mode, st.st_uid, st.st_gid, st.st_mtime_ns, attrs,
            sorted(os.listdir(path.parent)))


def _leftovers() -> set[str]:
    """What sandboxed code (always nobody) could have left in /dev/shm. Other processes of
    the machine make and remove their own files there and workspaces in /tmp meanwhile: a
    run's own workspace is checked by its path."""
    found = set()
    for entry in os.scandir("/dev/shm"):
        with contextlib.suppress(OSError):
            if entry.stat(follow_symlinks=False).st_uid == NOBODY:
                found.add(entry.path)
    return found


def _sandboxed(attacker: str, code: str, *args: str, native: bool = False,
               limits: Limits = FAST, cgroup_procs: str = "", **weakened) -> dict:
    """The attack's outcome in the sandbox, as `attacker`; `weakened`: see
    sandbox_attacks.weakened; `cgroup_procs`: the unprivileged user starts in that cgroup."""
    request = {"code": code, "argv": list(args), "native": native,
               "limits": dict(limits.__dict__), **weakened}
    if _uid(attacker) is None:
        return sandbox_attacks.serve(request)
    site = sysconfig.get_paths()["purelib"]  # pyseccomp
    enter = ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', cgroup_procs] if cgroup_procs \
        else []
    done = subprocess.run([*enter, SYSTEM_PYTHON, str(Path(sandbox_attacks.__file__))],
                          input=json.dumps(request), capture_output=True, text=True,
                          user=NOBODY, group=NOBODY, extra_groups=[], timeout=120,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": f"{REPO}:{site}"},
                          cwd="/")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _unprotected(attacker: str, code: str, *args: str, native: bool = False) -> str:
    """The same attack without the sandbox, in a scratch directory: its stdout."""
    scratch = Path(tempfile.mkdtemp(prefix="vibe-unprotected-"))
    uid = _uid(attacker)
    try:
        if uid is not None:
            os.chown(scratch, uid, uid)
        if native:
            (scratch / "p.c").write_text(code)
            subprocess.run(["gcc", "-o", str(scratch / "p"), str(scratch / "p.c")], check=True)
            argv = [str(scratch / "p"), *args]
        else:
            argv = [SYSTEM_PYTHON if uid is not None else sys.executable, "-c",
                    sandbox_attacks.with_argv(code, *args)]
        # Output to a file: a process the attack leaves running would hold a pipe open.
        with tempfile.TemporaryFile() as out:
            subprocess.run(argv, stdout=out, timeout=60, cwd=scratch, user=uid, group=uid,
                           extra_groups=[] if uid else None)
            out.seek(0)
            return out.read().decode()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _attack(attacker: str, victim: Path, code: str, *args: str, native: bool = False,
            limits: Limits = FAST, **options) -> dict:
    """Run `code` sandboxed; check that nothing outside changed and nothing remains."""
    before, leftovers = _state(victim), _leftovers()
    out = _sandboxed(attacker, code, *args, native=native, limits=limits, **options)
    assert "ESCAPED" not in out["stdout"], out
    assert _state(victim) == before, out
    assert _leftovers() <= leftovers, out
    assert not os.path.exists(out.get("workspace", "/nonexistent")), out
    return out


def _assert_survivors_then_kill(token: str) -> None:
    """Unprotected, the attack's process outlives the run: find it (it may take a moment
    to start), then end it."""
    deadline = time.monotonic() + 3
    while not (survivors := _processes_with(token)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in survivors:
        os.kill(pid, signal.SIGKILL)
    assert survivors, "unprotected, a process of the attack outlives the run"


def test_attack_switching_off_the_audit_hook_through_frames(attacker, victim) -> None:
    out = _attack(attacker, victim, sandbox_attacks.HOOK_VIA_FRAMES, str(victim))
    assert "blocked" in out["stdout"]
    assert "ESCAPED write" in _unprotected(attacker, sandbox_attacks.HOOK_VIA_FRAMES,
                                           str(victim))
    victim.write_text("precious")


def test_attack_monkeypatching_posixpath(attacker, victim) -> None:
    out = _attack(attacker, victim, sandbox_attacks.POSIXPATH, str(victim))
    assert "blocked" in out["stdout"]
    assert "ESCAPED rename" in _unprotected(attacker, sandbox_attacks.POSIXPATH, str(victim))
    os.rename(f"{victim}.moved", victim)


def test_attack_posixsubprocess_fork_exec_leaves_nothing(attacker, victim) -> None:
    token = f"vibe-attack-{secrets.token_hex(4)}"
    _attack(attacker, victim, sandbox_attacks.FORK_EXEC, str(victim), token,
            limits=Limits(cpu_s=2, wall_s=5, processes=4))
    assert _processes_with(token) == []
    _unprotected(attacker, sandbox_attacks.FORK_EXEC, str(victim), token)
    _assert_survivors_then_kill(token)


def test_attack_mknod_and_mkfifo_outside(attacker, victim) -> None:
    out = _attack(attacker, victim, sandbox_attacks.MKNOD, str(victim))
    assert out["stdout"].count("blocked") == 2
    assert _unprotected(attacker, sandbox_attacks.MKNOD, str(victim)).count("ESCAPED") == 2


def test_attack_metadata_through_a_read_only_descriptor(attacker, victim) -> None:
    _attack(attacker, victim, sandbox_attacks.METADATA, str(victim))
    assert "ESCAPED fchmod" in _unprotected(attacker, sandbox_attacks.METADATA, str(victim))


def test_attack_pidfd_kill_of_a_host_process(attacker, victim) -> None:
    uid = _uid(attacker)
    sleeper = subprocess.Popen(["sleep", "60"], user=uid, group=uid,
                               extra_groups=[] if uid else None)
    try:
        _attack(attacker, victim, sandbox_attacks.PIDFD_KILL, str(victim), str(sleeper.pid))
        assert sleeper.poll() is None, "the sandboxed code killed a host process"
        assert "ESCAPED kill" in _unprotected(attacker, sandbox_attacks.PIDFD_KILL,
                                              str(victim), str(sleeper.pid))
    finally:
        sleeper.kill()
        sleeper.wait()


def test_attack_memfd_beyond_the_memory_limit(attacker, victim) -> None:
    limits = Limits(cpu_s=5, wall_s=10, memory_mb=128)
    out = _attack(attacker, victim, sandbox_attacks.MEMFD, str(victim), "256", limits=limits)
    assert "blocked" in out["stdout"]
    assert "ESCAPED memfd" in _unprotected(attacker, sandbox_attacks.MEMFD, str(victim), "256")


def test_attack_dev_shm_files_do_not_outlive_the_run(attacker, victim) -> None:
    name = f"vibe-attack-{secrets.token_hex(4)}"
    _attack(attacker, victim, sandbox_attacks.SHM, str(victim), name)
    assert not os.path.exists(f"/dev/shm/{name}")
    assert "wrote" in _unprotected(attacker, sandbox_attacks.SHM, str(victim), name)
    assert os.path.exists(f"/dev/shm/{name}"), "unprotected, the file stays"
    os.remove(f"/dev/shm/{name}")


def test_attack_work_directory_beyond_file_mb(attacker, victim) -> None:
    limits = Limits(cpu_s=5, wall_s=10, file_mb=8)
    out = _attack(attacker, victim, sandbox_attacks.DISK, str(victim), "8", limits=limits)
    assert "blocked" in out["stdout"]
    assert "ESCAPED disk" in _unprotected(attacker, sandbox_attacks.DISK, str(victim), "8")


def test_attack_reading_etc_shadow(attacker, victim) -> None:
    out = _attack(attacker, victim, sandbox_attacks.SHADOW)
    assert "blocked" in out["stdout"]
    if attacker == "root":
        assert "ESCAPED shadow" in _unprotected(attacker, sandbox_attacks.SHADOW)


def test_attack_host_unix_socket(attacker, victim) -> None:
    path = str(victim.parent / "s.sock")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(path)
        os.chmod(path, 0o777)
        server.listen()
        server.settimeout(0.5)
        out = _attack(attacker, victim, sandbox_attacks.UNIX_SOCKET, str(victim), path)
        assert "blocked" in out["stdout"]
        with pytest.raises(TimeoutError):
            server.accept()
        assert "ESCAPED unix" in _unprotected(attacker, sandbox_attacks.UNIX_SOCKET,
                                              str(victim), path)


def test_attack_tcp_and_udp_out(attacker, victim) -> None:
    with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        tcp.bind(("127.0.0.1", 0))
        port = tcp.getsockname()[1]
        udp.bind(("127.0.0.1", port))
        tcp.listen()
        tcp.settimeout(0.3)
        udp.settimeout(0.3)
        out = _attack(attacker, victim, sandbox_attacks.NETWORK, str(victim), str(port))
        assert "sent" not in out["stdout"]
        with pytest.raises(TimeoutError):
            tcp.accept()
        with pytest.raises(TimeoutError):
            udp.recv(10)
        assert _unprotected(attacker, sandbox_attacks.NETWORK, str(victim),
                            str(port)).count("sent") == 2


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no C compiler")
def test_attack_native_fork_setsid_fork_execve_survivor(attacker, victim) -> None:
    token = f"vibe-attack-{secrets.token_hex(4)}"
    _attack(attacker, victim, sandbox_attacks.ESCAPE_C, token, native=True,
            limits=Limits(cpu_s=2, wall_s=5, processes=4))
    assert _processes_with(token) == []
    _unprotected(attacker, sandbox_attacks.ESCAPE_C, token, native=True)
    _assert_survivors_then_kill(token)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no C compiler")
def test_attack_native_metadata_and_unix_socket(attacker, victim) -> None:
    path = str(victim.parent / "n.sock")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(path)
        os.chmod(path, 0o777)
        server.listen()
        out = _attack(attacker, victim, sandbox_attacks.NATIVE_C, str(victim), path,
                      native=True)
        assert out["stdout"].split() == ["chmod", "-1", "utimes", "-1", "setxattr", "-1",
                                         "connect", "-1"], out
        unprotected = _unprotected(attacker, sandbox_attacks.NATIVE_C, str(victim), path,
                                   native=True)
        assert "chmod 0" in unprotected and "connect 0" in unprotected


def test_attack_check_then_use_race(attacker, victim) -> None:
    limits = Limits(cpu_s=5, wall_s=15)
    out = _attack(attacker, victim, sandbox_attacks.RACE, str(victim), limits=limits)
    assert "blocked after" in out["stdout"], out
    assert "ESCAPED race" in _unprotected(attacker, sandbox_attacks.RACE, str(victim))
    victim.write_text("precious")


@pytest.mark.skipif(shutil.which("gcc") is None, reason="no C compiler")
def test_attack_landlock_alone_holds_a_writable_bind(attacker, victim) -> None:
    """The first layer weakened on purpose (the victim's directory bound writable into the
    sandbox): Landlock alone refuses the write, a TCP bind inside the sandbox, and a signal
    to the runner (outside the code's Landlock domain, the same user)."""
    if not jail.landlock_abi():
        pytest.skip("this kernel has no Landlock")
    victim.parent.chmod(0o777)  # so that only Landlock stands between the code and it
    victim.chmod(0o666)
    bind, inside = str(victim.parent), f"{sandbox_attacks.BOUND}/{victim.name}"
    out = _attack(attacker, victim, sandbox_attacks.LANDLOCK_C, inside, native=True,
                  bind=bind)
    assert out["stdout"].split() == ["write", "0", "bind", "0", "signal", "0"], out
    without = _sandboxed(attacker, sandbox_attacks.LANDLOCK_C, inside, native=True,
                         bind=bind, landlock=False)
    assert without["stdout"].split() == ["write", "1", "bind", "1", "signal", "1"], without
    assert victim.read_text() == "preciouspwned"
    victim.write_text("precious")


@pytest.fixture
def run_cgroup(attacker):
    """For the unprivileged user: a memory cgroup delegated to it (made and handed over by
    root, as a service manager would), which it starts in; as root: none needed."""
    if _uid(attacker) is None:
        yield ""
        return
    own = cgroup._candidates("memory")
    if not own:
        pytest.skip("no memory cgroup to delegate")
    group = f"{own[-1]}/vibe-test-{secrets.token_hex(4)}"
    try:
        os.mkdir(group)
    except OSError as exc:
        pytest.skip(f"no memory cgroup can be made to delegate: {exc}")
    for path in (group, f"{group}/cgroup.procs", f"{group}/tasks"):
        if os.path.exists(path):
            os.chown(path, NOBODY, NOBODY)
    yield f"{group}/cgroup.procs"
    for _ in range(100):
        try:
            os.rmdir(group)
            break
        except OSError:
            time.sleep(0.05)


def test_attack_memory_across_processes(attacker, victim, run_cgroup) -> None:
    """Four processes of 120 MB, each under the per-process bound (192 MB of address
    space), together over the run's (192 MB and the 2 x 16 MB tmpfs)."""
    if _uid(attacker) is None and "memory" not in cgroup.delegated():
        pytest.skip(f"memory bounded {cgroup.describe()}")
    limits = Limits(cpu_s=10, wall_s=20, memory_mb=192, processes=4)
    out = _attack(attacker, victim, sandbox_attacks.MEMORY_TASKS, str(victim), "4", "120",
                  limits=limits, cgroup_procs=run_cgroup)
    assert out["reason"] == "memory limit", out
    assert "ESCAPED memory 480 MB" in _unprotected(attacker, sandbox_attacks.MEMORY_TASKS,
                                                   str(victim), "4", "120")


def test_a_workspace_leaves_nothing_behind() -> None:
    with Workspace({"a.txt": "x"}) as space:
        base = space.base
        out = space.run(["/bin/sh", "-c", "echo more > b.txt; ls"],
                        limits=Limits(cpu_s=2, wall_s=5, processes=2))
        assert out.stdout.split() == ["a.txt", "b.txt"]
        again = space.run(["/bin/cat", "b.txt"])
        assert again.stdout == "more\n"  # what a run made, the next run sees
        assert sorted(os.listdir(space.work)) == ["a.txt"]  # never on the host
    assert not base.exists()


def test_without_landlock_the_bwrap_layers_still_run(monkeypatch) -> None:
    monkeypatch.setattr(jail, "landlock_abi", lambda: 0)  # a kernel without Landlock
    out = run_python("import os\nprint(sorted(os.listdir('/'))[:2])", limits=FAST)
    assert out.returncode == 0 and out.stdout.startswith("['bin', "), out
    layers = isolation.__wrapped__()
    assert not layers.pop("landlock") and all(layers.values()), layers
    from vibe_ls.doctor import sandbox_report

    monkeypatch.setattr("vibe_ls.verify.sandbox.isolation", isolation.__wrapped__)
    assert "landlock ABI 0: this kernel has none (the bubblewrap layers still hold)" in \
        "\n".join(sandbox_report())


def test_without_a_sandbox_nothing_runs_and_the_verdict_says_why(monkeypatch) -> None:
    from vibe_ls.verify import harness, jail, sandbox, verifier

    monkeypatch.setattr(jail, "unavailable", lambda: "bubblewrap (bwrap) is not installed")
    with pytest.raises(sandbox.Unavailable, match="no sandbox on this machine"):
        run_python("print('ran')", limits=FAST)
    assert verifier.runs_for("python") is None and verifier.runs_for("c") is None
    why = harness.missing("python")
    assert why.startswith("no sandbox on this machine (bubblewrap (bwrap) is not installed")
    assert "apt-get install bubblewrap" in why
    assert not any(isolation.__wrapped__().values())
