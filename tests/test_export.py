"""Export of the tiny model end to end: checkpoint -> ONNX -> engine, checked against PyTorch."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import onnx
import pytest

from tests.conftest import run_cli
from vibe_ls.engine import Decoder, greedy, open_session
from vibe_ls.errors import VibeError
from vibe_ls.manifest import FORMAT_VERSION, read_manifest, verify

TEXT = "def three_sum_closest(nums, target):\n    # TODO: 找出数组中三个数之和最接近目标值的组合\n"


def _torch_logits(checkpoint: Path, ids: list[int]) -> np.ndarray:
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(checkpoint, dtype="float32").eval()
    with torch.inference_mode():
        return model(torch.tensor([ids])).logits[0].numpy()


def _tokenize(model_dir: Path, text: str) -> list[int]:
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(model_dir / "tokenizer.json")).encode(text).ids


def test_fp32_onnx_logits_match_pytorch(tiny_checkpoint: Path, tiny_fp32: Path) -> None:
    ids = _tokenize(tiny_fp32, TEXT)
    decoder = Decoder(open_session(tiny_fp32 / "model.onnx", device="cpu").session)
    onnx_logits, _ = decoder.forward(ids, decoder.empty_cache())
    np.testing.assert_allclose(onnx_logits, _torch_logits(tiny_checkpoint, ids), atol=1e-3)


def test_fp32_incremental_decode_matches_full_forward(tiny_checkpoint: Path,
                                                      tiny_fp32: Path) -> None:
    ids = _tokenize(tiny_fp32, TEXT)
    decoder = Decoder(open_session(tiny_fp32 / "model.onnx", device="cpu").session)
    tokens = greedy(decoder, ids, 16)
    reference = _torch_logits(tiny_checkpoint, ids + tokens)
    assert tokens == reference[len(ids) - 1 : -1].argmax(-1).tolist()


def test_logits_to_keep_returns_the_last_rows_of_the_full_logits(tiny_int4: Path) -> None:
    decoder = Decoder(open_session(tiny_int4 / "model.onnx", device="cpu").session)
    assert decoder.has_logits_to_keep and decoder.has_next_token
    ids = _tokenize(tiny_int4, TEXT)
    full, _ = decoder.forward(ids, decoder.empty_cache())
    last3, _ = decoder.forward(ids, decoder.empty_cache(), keep=3)
    assert full.shape[0] == len(ids) and last3.shape[0] == 3
    np.testing.assert_array_equal(last3, full[-3:])


def test_fp32_manifest_describes_the_model(tiny_fp32: Path) -> None:
    manifest = read_manifest(tiny_fp32)
    assert manifest.architecture == "Qwen2ForCausalLM"
    assert manifest.precision == "fp32"
    assert manifest.parity["greedy_identical"] is True
    assert manifest.parity["continuation_tokens"] == 32
    assert {"tokenizer.json", "chat_template.jinja", "generation_config.json",
            "model.onnx"} <= set(manifest.files)
    assert {"torch", "transformers", "optimum-onnx", "onnx"} <= set(manifest.tools)
    assert manifest.eos_token_ids  # <|im_end|> and <|endoftext|>
    assert manifest.format == FORMAT_VERSION
    assert verify(tiny_fp32) == []


def test_int4_quantizes_every_linear_layer_including_lm_head(tiny_int4: Path) -> None:
    graph = onnx.load(tiny_int4 / "model.onnx", load_external_data=False).graph
    nbits = [n for n in graph.node if n.op_type == "MatMulNBits"]
    # 2 layers x (q, k, v, o, gate, up, down) + lm_head
    assert len(nbits) == 2 * 7 + 1
    assert any("lm_head" in n.name for n in nbits)
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in nbits[0].attribute}
    assert attrs["block_size"] == 32 and attrs["bits"] == 4 and attrs["accuracy_level"] == 4
    # asymmetric: every block has a zero point (the GGUF's 4-bit blocks are affine)
    assert all(len(n.input) == 4 and n.input[3] for n in nbits)
    parity = read_manifest(tiny_int4).parity
    assert parity["passed"] and parity["max_abs_logit_diff"] > 0
    assert 0.6 <= parity["top1_agreement"] <= 1.0


def test_fp16_export_keeps_kv_cache_in_fp16(tiny_checkpoint: Path, tmp_path: Path) -> None:
    proc = run_cli("export", str(tiny_checkpoint), "--out", str(tmp_path / "m"),
                   "--device", "cuda")  # cuda targets default to fp16
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert (manifest["precision"], manifest["device"]) == ("fp16", "cuda")
    assert {"max_abs_logit_diff", "top1_agreement"} <= set(manifest["parity"])
    decoder = Decoder(open_session(tmp_path / "m" / "model.onnx", device="cpu").session)
    assert decoder.kv_dtype == np.float16


def test_export_refuses_to_overwrite_without_force(tiny_checkpoint: Path, tiny_fp32: Path) -> None:
    from vibe_ls_export.pipeline import export_model

    with pytest.raises(VibeError, match="--force"):
        export_model(str(tiny_checkpoint), tiny_fp32, precision="fp32", progress=print)
    assert verify(tiny_fp32) == []  # the existing model is untouched


def test_failed_export_leaves_nothing_behind(tiny_checkpoint: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for item in tiny_checkpoint.iterdir():
        if not item.name.startswith("tokenizer"):
            (broken / item.name).write_bytes(item.read_bytes())
    proc = run_cli("export", str(broken), "--out", str(tmp_path / "out"), "--precision", "fp32")
    assert proc.returncode == 1
    assert "tokenizer" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken"]


@pytest.mark.parametrize("env", [
    {"HF_HUB_OFFLINE": "1"},
    {"HF_ENDPOINT": "http://127.0.0.1:9"},  # nothing listens there: like a network that is down
], ids=["offline-mode", "unreachable"])
def test_hub_id_without_network_fails_fast_and_clearly(tmp_path: Path, env: dict) -> None:
    start = time.monotonic()
    proc = run_cli("export", "WeiboAI/VibeThinker-1.5B", "--out", str(tmp_path / "v"),
                   env=env, timeout=30)
    assert proc.returncode == 1
    assert "cannot fetch 'WeiboAI/VibeThinker-1.5B'" in proc.stderr
    assert "pass its local path" in proc.stderr
    assert not (tmp_path / "v").exists()
    print(f"failed in {time.monotonic() - start:.1f} s")


def test_source_that_is_not_a_model_is_rejected(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a gguf")
    proc = run_cli("export", str(junk), "--out", str(tmp_path / "o"))
    assert proc.returncode == 1
    assert "neither a GGUF file nor a checkpoint directory" in proc.stderr


@pytest.mark.parametrize("precision", ["int4", "fp16", "fp32"])
def test_export_from_a_gguf_file(tiny_checkpoint: Path, tmp_path: Path, precision: str) -> None:
    from vibe_ls_export.tiny import write_gguf

    gguf = write_gguf(tiny_checkpoint, tmp_path / "tiny.gguf")
    proc = run_cli("export", str(gguf), "--out", str(tmp_path / "m"), "--precision", precision)
    assert proc.returncode == 0, proc.stderr
    manifest = read_manifest(tmp_path / "m")
    assert (manifest.precision, manifest.source) == (precision, str(gguf))
    assert manifest.parity["passed"]
    if precision == "fp32":
        assert manifest.parity["greedy_identical"] is True
    assert verify(tmp_path / "m") == []


def test_attention_reads_the_kv_heads_without_repeating_them(tiny_fp32: Path) -> None:
    graph = onnx.load(tiny_fp32 / "model.onnx", load_external_data=False).graph
    readers = [n for n in graph.node for i in n.input if i.startswith("present.")]
    assert readers and not any(n.op_type in ("Unsqueeze", "Expand") for n in readers)
    grouped = [n for n in graph.node if n.name == "" and n.op_type == "MatMul"
               and n.output[0].startswith("/grouped_attention/")]
    assert len(grouped) == 2 * 2  # scores and context, in each of the tiny model's 2 layers


def test_grouped_attention_keeps_every_output(tiny_checkpoint: Path, tmp_path: Path) -> None:
    """The rewrite against optimum's own graph: same logits and caches for left-padded
    rows following a cache."""
    import onnxruntime as ort
    from vibe_ls_export import convert

    plain = convert.export_fp32(tiny_checkpoint, tmp_path / "plain")
    convert.add_logits_to_keep(plain)
    grouped_dir = tmp_path / "grouped"
    grouped_dir.mkdir()
    for item in plain.parent.iterdir():
        (grouped_dir / item.name).write_bytes(item.read_bytes())
    assert convert.group_attention(grouped_dir / "model.onnx", heads=4) == 2

    rng = np.random.default_rng(1)
    past, new, rows = 5, 3, 2
    feed = {"input_ids": rng.integers(3, 200, (rows, new)),
            "attention_mask": np.ones((rows, past + new), np.int64),
            "position_ids": np.tile(np.arange(past, past + new), (rows, 1)),
            "logits_to_keep": np.asarray(new, np.int64)}
    feed["attention_mask"][1, :2] = 0  # a left-padded row
    for layer in range(2):
        for kind in ("key", "value"):
            feed[f"past_key_values.{layer}.{kind}"] = rng.standard_normal(
                (rows, 2, past, 16)).astype(np.float32)
    runs = [ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feed)
            for path in (plain, grouped_dir / "model.onnx")]
    for expected, got in zip(*runs, strict=True):
        np.testing.assert_allclose(got, expected, atol=1e-5)


def _copy_at_format(model: Path, tmp_path: Path, fmt: int) -> Path:
    """A copy of `model` whose manifest says an older vibe-ls built it."""
    target = tmp_path / "model"
    target.mkdir()
    for item in model.iterdir():
        (target / item.name).write_bytes(item.read_bytes())
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["format"] = fmt
    (target / "manifest.json").write_text(json.dumps(manifest))
    return target


def test_setup_upgrades_a_format_2_model_in_place(tiny_fp32: Path, tmp_path: Path) -> None:
    from vibe_ls.install import installed_ok

    target = _copy_at_format(tiny_fp32, tmp_path, 2)
    said: list[str] = []
    assert installed_ok(target, "fp32", said.append)
    assert read_manifest(target).format == FORMAT_VERSION and verify(target) == []
    assert any("upgraded" in line for line in said), said


def test_setup_keeps_a_format_3_model_that_is_not_int4(tiny_fp32: Path, tmp_path: Path) -> None:
    """Format 4 changed only the int4 quantization: an fp32 model is kept as it is."""
    from vibe_ls.install import installed_ok

    target = _copy_at_format(tiny_fp32, tmp_path, 3)
    graph = (target / "model.onnx").read_bytes()
    said: list[str] = []
    assert installed_ok(target, "fp32", said.append)
    assert read_manifest(target).format == FORMAT_VERSION and verify(target) == []
    assert (target / "model.onnx").read_bytes() == graph and said == []


def test_gqa_export_matches_pytorch(tiny_checkpoint: Path, tiny_fp32: Path,
                                    tiny_gqa: Path) -> None:
    """The GroupQueryAttention graph on its static KV buffer computes what PyTorch does,
    prefill and token by token, and says so in its manifest."""
    from vibe_ls.engine.static import StaticDecoder

    manifest = read_manifest(tiny_gqa)
    assert (manifest.attention, manifest.context) == ("gqa", 1024)
    assert manifest.parity["greedy_identical"] is True
    assert manifest.parity["top1_agreement"] == 1.0
    graph = onnx.load(tiny_gqa / "model.onnx", load_external_data=False).graph
    assert sum(n.op_type == "GroupQueryAttention" for n in graph.node) == 2
    assert {i.name for i in graph.input} >= {"seqlens_k", "total_sequence_length"}
    assert not {"attention_mask", "position_ids"} & {i.name for i in graph.input}
    ids = _tokenize(tiny_gqa, TEXT)
    decoder = StaticDecoder(open_session(tiny_gqa / "model.onnx", device="cpu").session,
                            context=manifest.context)
    logits, _ = decoder.forward(ids, decoder.empty_cache())
    np.testing.assert_allclose(logits, _torch_logits(tiny_checkpoint, ids),
                               atol=1e-3)
    old = Decoder(open_session(tiny_fp32 / "model.onnx", device="cpu").session)
    assert greedy(decoder, ids, 24) == greedy(old, ids, 24)


def test_gqa_fp16_export_keeps_parity(tiny_gqa_fp16: Path) -> None:
    manifest = read_manifest(tiny_gqa_fp16)
    assert manifest.precision == "fp16" and manifest.attention == "gqa"
    assert manifest.parity["top1_agreement"] >= 0.98
    assert manifest.parity["greedy_identical"] is True
    graph = onnx.load(tiny_gqa_fp16 / "model.onnx", load_external_data=False).graph
    past = next(i for i in graph.input if i.name == "past_key_values.0.key")
    assert past.type.tensor_type.elem_type == onnx.TensorProto.FLOAT16


def test_gqa_export_rejects_a_context_out_of_range(tmp_path: Path) -> None:
    proc = run_cli("export", str(tmp_path), "--out", str(tmp_path / "m"),
                   "--attention", "gqa", "--context", "8")
    assert proc.returncode == 1
    assert "context 8 is out of range" in proc.stderr
    assert not (tmp_path / "m").exists()
