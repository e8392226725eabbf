"""Manifest verification: any changed, missing or unreadable file is caught, and doctor says so."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import run_cli
from vibe_ls.errors import VibeError
from vibe_ls.manifest import read_manifest, verify


@pytest.fixture
def home_with_tiny(tiny_int4: Path, tmp_path: Path) -> Path:
    """A VIBE_LS_HOME whose only model is a copy of the tiny int4 export, named `tiny`."""
    shutil.copytree(tiny_int4, tmp_path / "models" / "tiny")
    return tmp_path


def _largest_file(model_dir: Path) -> Path:
    return max((p for p in model_dir.iterdir() if p.is_file()), key=lambda p: p.stat().st_size)


def test_a_flipped_byte_is_detected(home_with_tiny: Path) -> None:
    model_dir = home_with_tiny / "models" / "tiny"
    victim = _largest_file(model_dir)
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0x01
    victim.write_bytes(bytes(data))
    assert verify(model_dir) == [f"checksum mismatch: {victim.name}"]


def test_a_missing_file_is_detected(home_with_tiny: Path) -> None:
    model_dir = home_with_tiny / "models" / "tiny"
    (model_dir / "tokenizer.json").unlink()
    assert verify(model_dir) == ["missing file: tokenizer.json"]


def test_a_corrupt_manifest_is_a_clear_error(home_with_tiny: Path) -> None:
    model_dir = home_with_tiny / "models" / "tiny"
    (model_dir / "manifest.json").write_text('{"name": "tiny", "files": ')
    with pytest.raises(VibeError, match="corrupt"):
        read_manifest(model_dir)


def test_doctor_passes_on_a_verified_model_and_runs_it(home_with_tiny: Path) -> None:
    proc = run_cli("doctor", "--model", "tiny", env={"VIBE_LS_HOME": str(home_with_tiny)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "checksums: verified" in proc.stdout
    assert "smoke test: '" in proc.stdout
    assert "providers: " in proc.stdout and "CUDA: " in proc.stdout


def test_doctor_fails_on_a_corrupted_model(home_with_tiny: Path) -> None:
    victim = _largest_file(home_with_tiny / "models" / "tiny")
    with open(victim, "r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0xFF]))
    proc = run_cli("doctor", "--model", "tiny", env={"VIBE_LS_HOME": str(home_with_tiny)})
    assert proc.returncode == 1
    assert "checksums: FAILED" in proc.stdout
    assert "run `vibe-ls setup`" in proc.stdout


def test_doctor_fails_when_nothing_is_installed(tmp_path: Path) -> None:
    proc = run_cli("doctor", env={"VIBE_LS_HOME": str(tmp_path)})
    assert proc.returncode == 1
    assert "models: none installed" in proc.stdout
