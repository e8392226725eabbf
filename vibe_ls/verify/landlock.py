"""Landlock, the kernel's access control for unprivileged processes: the sandbox's second
layer, under bubblewrap. Inside the sandbox, before a candidate, compiler or compiled program
runs, the process restricts itself (and so everything it starts, across exec): read and
execute only beneath the directories bound into the sandbox, write only in its tmpfs places
(the work directory, /tmp, /dev/shm); from Landlock ABI 4 no TCP bind or connect; from
ABI 6 no abstract UNIX socket and no signal reaching outside the sandbox.

This file uses only the standard library: the sandbox runs its source inside (the Python
bootstrap calls `restrict`; other programs start through `LAUNCHER`), where vibe-ls itself
is not importable. PyPI's Landlock bindings were looked at (landlock 1.0.0.dev5 stops at
file rules; landlockpy 0.2, py-landlock 0.1 are a few months old): this is the few system
calls we need, in the open.
"""

import ctypes
import os

# The same numbers on every architecture (added after the syscall tables were unified).
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
READ = EXECUTE | READ_FILE | READ_DIR
# Every file-system right each ABI knows: 13 in ABI 1, then REFER (2), TRUNCATE (3),
# IOCTL_DEV (5). A ruleset must handle only rights its kernel knows.
_FS_RIGHTS = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1  # ABI 4
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6
# struct landlock_ruleset_attr grew with the ABI: fs (1), net (4), scoped (6).
_ATTR_SIZE = {1: 8, 4: 16, 6: 24}


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _syscall():
    call = ctypes.CDLL(None, use_errno=True).syscall
    call.restype = ctypes.c_long
    return call


def _by_abi(table: dict, abi: int):
    return table[max(k for k in table if k <= abi)]


def abi() -> int:
    """The kernel's Landlock ABI version; 0 where it has none (or it is turned off)."""
    return max(0, _syscall()(_CREATE_RULESET, None, ctypes.c_size_t(0),
                             ctypes.c_uint32(_CREATE_RULESET_VERSION)))


def restrict(readable, writable, devices) -> int:
    """Restrict this process and all it will start: read and execute beneath `readable`,
    read and write files beneath `devices`, anything beneath `writable`, nothing else; no
    TCP, no signals or abstract sockets out. Returns the ABI enforced (0: no Landlock here,
    nothing done). Needs no_new_privs (bwrap sets it)."""
    version, syscall = abi(), _syscall()
    if version == 0:
        return 0
    every = _by_abi(_FS_RIGHTS, version)
    attr = _RulesetAttr(fs=every)
    if version >= 4:
        attr.net = _NET_BIND_TCP | _NET_CONNECT_TCP  # handled, and no rule allows any port
    if version >= 6:
        attr.scoped = _SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL
    ruleset = syscall(_CREATE_RULESET, ctypes.byref(attr),
                      ctypes.c_size_t(_by_abi(_ATTR_SIZE, version)), ctypes.c_uint32(0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        for paths, rights in ((readable, READ), (devices, READ_FILE | WRITE_FILE | READ_DIR),
                              (writable, every)):
            for path in paths:
                _allow(syscall, ruleset, path, rights)
        if syscall(_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)
    return version


def _allow(syscall, ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # not in this sandbox: nothing to allow
    try:
        if not os.path.isdir(path):
            rights &= EXECUTE | WRITE_FILE | READ_FILE | (1 << 14) | (1 << 15)  # file rights
        beneath = _PathBeneath(allowed=rights, parent_fd=fd)
        if syscall(_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(beneath),
                   ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
    finally:
        os.close(fd)


def split(argv):
    """The launcher's arguments: "r<path>" (readable), "d<path>" (devices), "w<path>"
    (writable)... "--", then the command: ((readable, writable, devices), command)."""
    end = argv.index("--")
    rules = argv[:end]
    return tuple([a[1:] for a in rules if a[0] == kind] for kind in "rwd"), argv[end + 1:]


def arguments(readable, writable, devices) -> list:
    return [*("r" + p for p in readable), *("w" + p for p in writable),
            *("d" + p for p in devices), "--"]


def launch(argv) -> None:
    """The launcher: restrict, then become the command."""
    rules, command = split(argv)
    restrict(*rules)
    os.execv(command[0], command)
