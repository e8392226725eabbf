"""`vibe-ls bench --compare transformers` on the device vibe-ls runs on: transformers'
`generate` with a static cache on the same weights (the GGUF the model was exported from),
one row and a batch of rows, beside the engine's own figures. Runs on the CPU here; on a GPU
machine the same command measures fp16 on CUDA (scripts/gpu_check.sh)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import run_cli


def test_bench_compares_with_transformers_on_the_same_device(tiny_gqa: Path,
                                                             tmp_path: Path) -> None:
    from vibe_ls_export.tiny import build_checkpoint, write_gguf

    from vibe_ls.manifest import read_manifest

    name = read_manifest(tiny_gqa).name
    shutil.copytree(tiny_gqa, tmp_path / "models" / "tiny")
    checkpoint = build_checkpoint(tmp_path / "checkpoint")  # the weights tiny_gqa came from
    write_gguf(checkpoint, tmp_path / "weights" / f"{name}.gguf")
    out = tmp_path / "bench.json"
    proc = run_cli("bench", "--model", "tiny", "--device", "cpu", "--compare", "transformers",
                   "--new-tokens", "12", "--json", str(out),
                   env={"VIBE_LS_HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads(out.read_text())
    ours, (peer,) = report["vibe-ls"], report["peers"]
    assert (ours["provider"], ours["attention"]) == ("cpu", "gqa")
    assert ours["batch_rows"] == 4 and ours["batch_decode_tok_s"] > 0
    assert ours["cached_prefix_tokens"] > 0  # the TODO prompt's system prompt and file
    assert peer["engine"] == "transformers", peer
    assert (peer["device"], peer["dtype"], peer["batch_rows"]) == ("cpu", "float32", 4)
    assert peer["decode_tok_s"] > 0 and peer["batch_decode_tok_s"] > 0
    assert "transformers (cpu, float32): 4 rows together" in proc.stdout
    assert "host RAM, measured" in proc.stdout
