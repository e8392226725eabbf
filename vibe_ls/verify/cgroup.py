"""A cgroup for each sandboxed run, where this process may make one: one memory bound for
every process of the run together (its tmpfs and shared memory included, which no rlimit
counts) and one bound on its number of tasks. Where none is delegated to us, the run is
bounded per process (RLIMIT_AS) and by the size of its tmpfs, as before.

cgroup v2 where our own cgroup hands the controller down (`cgroup.subtree_control`), else
the v1 hierarchy of that controller (a hybrid host's, as root); each is tried for real once.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import secrets
import threading
import time

CONTROLLERS = ("memory", "pids")
# A run's first process joins its cgroups before bwrap starts, so every process of the
# run is born inside. $1...: the cgroup.procs files, then "--" and the command.
ENTER = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 125; shift; done; shift; exec "$@"'


def _mounts() -> tuple[str, dict[str, str]]:
    """The cgroup2 mount point ("" none) and each v1 controller's mount point."""
    v2, v1 = "", {}
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        for line in f:
            fields = line.split()
            fstype, options = fields[fields.index("-") + 1], fields[-1].split(",")
            if fstype == "cgroup2":
                v2 = v2 or fields[4]
            elif fstype == "cgroup":
                v1.update({name: fields[4] for name in options if name in CONTROLLERS})
    return v2, v1


def _own() -> dict[str, str]:
    """Our cgroup in each hierarchy: "" for v2, the controller's name for v1."""
    own = {}
    with open("/proc/self/cgroup", encoding="utf-8") as f:
        for line in f:
            _, names, path = line.rstrip("\n").split(":", 2)
            for name in names.split(",") if names else [""]:
                own[name] = path
    return own


def _candidates(name: str) -> list[str]:
    v2, v1 = _mounts()
    own, places = _own(), []
    if v2 and "" in own:
        parent = v2 + own[""].rstrip("/")
        with contextlib.suppress(OSError), open(f"{parent}/cgroup.subtree_control") as f:
            if name in f.read().split():
                places.append(parent)
    if name in v1 and name in own:
        places.append(v1[name] + own[name].rstrip("/"))
    return places


def _usable(parent: str, name: str) -> bool:
    """Whether a child can be made here and bounded (tried, then removed)."""
    probe = f"{parent}/vibe-probe-{secrets.token_hex(4)}"
    try:
        os.mkdir(probe)
    except OSError:
        return False
    try:
        _write(probe, _limit_file(probe, name), "max" if name == "pids" else str(1 << 30))
        return True
    except OSError:
        return False
    finally:
        with contextlib.suppress(OSError):
            os.rmdir(probe)


@functools.lru_cache(maxsize=1)
def delegated() -> dict[str, str]:
    """{controller: the directory where a run's cgroups are made}, for those we may use."""
    found = {}
    for name in CONTROLLERS:
        usable = [parent for parent in _candidates(name) if _usable(parent, name)]
        if usable:
            found[name] = usable[0]
    return found


def describe() -> str:
    """For `vibe-ls doctor`: how a run's memory is bounded here."""
    places = delegated()
    if "memory" not in places:
        return ("per process (RLIMIT_AS) and the bounded tmpfs: no cgroup memory controller "
                "is delegated to this user")
    v2 = {name: os.path.exists(f"{path}/cgroup.controllers") for name, path in places.items()}
    return "for the whole run, by a cgroup: " + ", ".join(
        f"{name} (v{2 if v2[name] else 1}) in {path}" for name, path in places.items())


def _limit_file(group: str, name: str) -> str:
    if name == "pids":
        return "pids.max"
    return "memory.max" if os.path.exists(f"{group}/memory.max") else "memory.limit_in_bytes"


def _write(group: str, file: str, value: str) -> None:
    with open(f"{group}/{file}", "w", encoding="ascii") as f:
        f.write(value)


class RunGroup:
    """The cgroups of one run (none where none is delegated): made with their bounds,
    removed by `close` once the run's processes are gone."""

    def __init__(self, memory_bytes: int, tasks: int, controllers=CONTROLLERS) -> None:
        self.groups: dict[str, str] = {}
        _sweep()
        token = secrets.token_hex(6)
        try:
            for name, parent in delegated().items():
                if name not in controllers:
                    continue
                group = f"{parent}/vibe-run-{token}"
                os.mkdir(group)
                self.groups[name] = group
                self._bound(group, name, memory_bytes, tasks)
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _bound(group: str, name: str, memory_bytes: int, tasks: int) -> None:
        if name == "pids":
            _write(group, "pids.max", str(tasks))
            return
        _write(group, _limit_file(group, name), str(memory_bytes))
        # Swap would let the run go past the bound: none (v2), or memory + swap = memory.
        for file, value in (("memory.swap.max", "0"), ("memory.memsw.limit_in_bytes",
                                                       str(memory_bytes))):
            if os.path.exists(f"{group}/{file}"):
                _write(group, file, value)

    def enter(self, argv: list[str]) -> list[str]:
        """`argv` started inside the run's cgroups."""
        if not self.groups:
            return argv
        procs = [f"{g}/cgroup.procs" for g in self.groups.values()]
        return ["/bin/sh", "-c", ENTER, "sh", *procs, "--", *argv]

    def out_of_memory(self) -> bool:
        """Whether the kernel killed a process of the run at the memory bound."""
        group = self.groups.get("memory")
        if group is None:
            return False
        for file in ("memory.events", "memory.oom_control"):  # v2, v1
            with contextlib.suppress(OSError), open(f"{group}/{file}") as f:
                counts = dict(line.split() for line in f if len(line.split()) == 2)
                return int(counts.get("oom_kill", "0")) > 0
        return False

    def close(self) -> None:
        with _LOCK:
            _PENDING.extend(self.groups.values())
        self.groups = {}
        _sweep()


# Run cgroups not yet removed: the last task of a run may take a moment to leave its
# cgroups (waiting for it cost 5 ms a run); tried again at the next run and at exit.
_PENDING: list[str] = []
_LOCK = threading.Lock()


def _sweep() -> None:
    with _LOCK:
        for group in list(_PENDING):
            try:
                os.rmdir(group)
            except FileNotFoundError:
                pass
            except OSError:
                continue
            _PENDING.remove(group)


@atexit.register
def _sweep_at_exit() -> None:
    for _ in range(100):
        _sweep()
        if not _PENDING:
            return
        time.sleep(0.01)
