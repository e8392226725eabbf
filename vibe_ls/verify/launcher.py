"""The Landlock launcher that compiled programs and compilers start through: the rules of
`landlock.restrict`, then exec. Built once per machine with the C compiler into vibe-ls's
cache (a Python launcher cost 10 ms of interpreter start on every run of a compiled
program, 45 ms under load); where there is no compiler, `jail` uses the Python one.

Arguments: "r<path>" read and execute, "d<path>" read and write files (devices), "w<path>"
anything, then "--" and the command. Exit status 125 when the rules cannot be applied.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile

from vibe_ls import home

log = logging.getLogger(__name__)

SOURCE = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EXECUTE 1ull
#define WRITE_FILE 2ull
#define READ_FILE 4ull
#define READ_DIR 8ull
#define FILE_RIGHTS (EXECUTE | WRITE_FILE | READ_FILE | (1ull << 14) | (1ull << 15))

struct attr { uint64_t fs, net, scoped; };
struct beneath { uint64_t allowed; int32_t parent_fd; } __attribute__((packed));

static int allow(long ruleset, const char *path, uint64_t rights) {
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) return 0;  /* not in this sandbox: nothing to allow */
    struct stat st;
    if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode)) rights &= FILE_RIGHTS;
    struct beneath rule = {rights, fd};
    long rc = syscall(445, ruleset, 1, &rule, 0);
    close(fd);
    return rc == 0;
}

static int restrict_self(int count, char **rules) {
    long abi = syscall(444, NULL, 0, 1);
    if (abi <= 0) return 1;  /* no Landlock on this kernel */
    uint64_t every = abi >= 5 ? (1ull << 16) - 1 : abi >= 3 ? (1ull << 15) - 1
                   : abi >= 2 ? (1ull << 14) - 1 : (1ull << 13) - 1;
    struct attr attr = {every, abi >= 4 ? 3 : 0, abi >= 6 ? 3 : 0};
    long ruleset = syscall(444, &attr, abi >= 6 ? 24 : abi >= 4 ? 16 : 8, 0);
    if (ruleset < 0) { perror("landlock_create_ruleset"); return 0; }
    for (int i = 0; i < count; i++) {
        uint64_t rights = rules[i][0] == 'w' ? every : rules[i][0] == 'd'
                        ? READ_FILE | WRITE_FILE | READ_DIR : EXECUTE | READ_FILE | READ_DIR;
        if (!allow(ruleset, rules[i] + 1, rights)) { perror(rules[i] + 1); return 0; }
    }
    if (syscall(446, ruleset, 0) != 0) { perror("landlock_restrict_self"); return 0; }
    close((int) ruleset);
    return 1;
}

int main(int argc, char **argv) {
    int end = 1;
    while (end < argc && strcmp(argv[end], "--") != 0) end++;
    if (end + 1 >= argc) { fputs("usage: launcher RULES... -- COMMAND...\n", stderr); return 125; }
    if (!restrict_self(end - 1, argv + 1)) return 125;
    execv(argv[end + 1], argv + end + 1);
    perror(argv[end + 1]);
    return 127;
}
"""


def native() -> str | None:
    """The compiled launcher's path, built on first use; None where it cannot be built.
    Looked for on every call: the cache directory may have gone (a test's home)."""
    compiler = _compiler()
    if compiler is None:
        return None
    # A home shared between machines may see another architecture's build.
    tag = hashlib.sha256((SOURCE + os.uname().machine).encode()).hexdigest()[:12]
    try:
        where = home.home() / "sandbox"
        where.mkdir(parents=True, exist_ok=True)
        where.chmod(0o755)  # bound into the sandbox, where the code is nobody
    except OSError as exc:
        log.info("no place to build the Landlock launcher: %s", exc)
        return None
    path = where / f"landlock-launcher-{tag}"
    if os.access(path, os.X_OK):
        return str(path)
    if str(path) in _FAILED:  # one try a process: a compiler that fails keeps failing
        return None
    built = _build(compiler, str(path))
    if built is None:
        _FAILED.add(str(path))
    return built


_FAILED: set[str] = set()


@functools.lru_cache(maxsize=1)
def _compiler() -> str | None:
    return shutil.which("cc") or shutil.which("gcc")


def _build(compiler: str, path: str) -> str | None:
    """Compile to a temporary name, then rename: runs building at once see one whole file."""
    directory = os.path.dirname(path)
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        done = subprocess.run([compiler, "-O2", "-o", f"{tmp}/launcher", "-x", "c", "-"],
                              input=SOURCE, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log.warning("the Landlock launcher did not build: %s", done.stderr[-500:])
            return None
        os.chmod(f"{tmp}/launcher", 0o755)
        os.replace(f"{tmp}/launcher", path)
    return path
