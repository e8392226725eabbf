"""`vibe-ls setup` picks the model by hardware and makes it the default; `vibe-ls doctor`
says which model and which device are in use (the device the session really got)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import run_cli
from vibe_ls import home
from vibe_ls.engine.providers import cuda_status
from vibe_ls.install import choose_by_hardware, install_dir


@pytest.mark.skipif(cuda_status()[0], reason="CUDA is usable here: setup would build the 1.5B")
def test_setup_without_cuda_keeps_the_small_int4_model(tiny_int4: Path, tmp_path: Path) -> None:
    """Without usable CUDA setup installs the 0.5B int4 (here: already there, the tiny int4
    export standing in for it, so only its checksums are checked)."""
    shutil.copytree(tiny_int4, tmp_path / "models" / "qwen2.5-coder-0.5b")
    env = {"VIBE_LS_HOME": str(tmp_path)}
    proc = run_cli("setup", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "CUDA not usable" in proc.stderr
    assert "the default model is qwen2.5-coder-0.5b in int4" in proc.stderr
    assert "is installed and verified" in proc.stderr
    assert not (tmp_path / "models" / home.DEFAULT_POINTER).exists()
    doctor = run_cli("doctor", env=env)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "in use: qwen2.5-coder-0.5b (int4, optimum attention) on cpu (" in doctor.stdout


def test_the_model_setup_chose_is_the_default_and_doctor_names_its_device(
        tiny_gqa: Path, tmp_path: Path) -> None:
    """Where setup chose the GQA model (a GPU machine), the default model name stands for it;
    doctor loads it as the server would and says where it runs: here the CPU, and why."""
    name, precision, attention = choose_by_hardware(cuda_usable=True)
    assert (name, precision, attention) == ("qwen2.5-coder-1.5b", "fp16", "gqa")
    chosen = install_dir(name, precision, attention).name
    assert chosen == "qwen2.5-coder-1.5b-fp16-gqa"
    shutil.copytree(tiny_gqa, tmp_path / "models" / chosen)
    (tmp_path / "models" / home.DEFAULT_POINTER).write_text(chosen + "\n")
    doctor = run_cli("doctor", env={"VIBE_LS_HOME": str(tmp_path)})
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    usable, why = cuda_status()
    device = "cuda" if usable else f"cpu ({why})"
    assert f"in use: {chosen} (fp32, GroupQueryAttention, static KV buffer) on {device}" \
        in doctor.stdout
    assert choose_by_hardware(cuda_usable=False) == ("qwen2.5-coder-0.5b", "int4", "mha")
