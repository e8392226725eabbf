"""`vibe-ls export`: source checkpoint -> ONNX (fp32 | fp16 | int4) -> parity -> manifest.

Everything is written into a temporary directory beside the destination and moved into
place only when the parity check has passed, so a failure never leaves a half-written model.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from vibe_ls_export import convert, lora, parity, sources

from vibe_ls.errors import VibeError
from vibe_ls.manifest import FORMAT_VERSION, Manifest, hash_files, write_manifest

PRECISIONS = ("int4", "fp16", "fp32")
ATTENTIONS = ("mha", "gqa")
DEVICE_DEFAULT_PRECISION = {"cpu": "int4", "cuda": "fp16"}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                   "generation_config.json", "config.json")
TOOLS = ("vibe-ls", "torch", "transformers", "optimum", "optimum-onnx", "onnx",
         "onnxruntime-gpu", "onnxruntime", "gguf")

Progress = Callable[[str], None]


def tool_versions() -> dict[str, str]:
    versions = {}
    for package in TOOLS:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _step(progress: Progress, label: str, fn, *args):
    """Run one long step, telling the user when it starts and how long it took."""
    progress(f"{label}…")
    start = time.monotonic()
    result = fn(*args)
    progress(f"{label}: done in {time.monotonic() - start:.0f} s")
    return result


def _prepare_out(out: Path, force: bool) -> None:
    if out.exists() and any(out.iterdir()) and not force:
        raise VibeError(f"{out} already exists and is not empty", "pass --force to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)


def _copy_tokenizer(checkpoint: Path, model_dir: Path) -> None:
    """tokenizer.json, configs, and the chat template as its own chat_template.jinja."""
    for name in TOKENIZER_FILES:
        if (checkpoint / name).is_file():
            shutil.copy2(checkpoint / name, model_dir / name)
    if not (model_dir / "tokenizer.json").is_file():
        raise VibeError(f"{checkpoint} has no tokenizer.json (a fast tokenizer is required)")
    template = checkpoint / "chat_template.jinja"
    if template.is_file():
        shutil.copy2(template, model_dir / "chat_template.jinja")
        return
    config = json.loads((checkpoint / "tokenizer_config.json").read_text())
    if not isinstance(config.get("chat_template"), str):
        raise VibeError(f"{checkpoint} has no chat template", "use an instruct/chat checkpoint")
    (model_dir / "chat_template.jinja").write_text(config["chat_template"])


def _eos_ids(model_dir: Path, tokenizer) -> list[int]:
    ids = {tokenizer.eos_token_id} if tokenizer.eos_token_id is not None else set()
    gen = model_dir / "generation_config.json"
    if gen.is_file():
        eos = json.loads(gen.read_text()).get("eos_token_id")
        ids.update(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    return sorted(ids)


def _convert(fp32_model: Path, model_dir: Path, precision: str) -> Path:
    if precision == "int4":
        return convert.quantize_int4(fp32_model, model_dir)
    if precision == "fp16":
        return convert.convert_fp16(fp32_model, model_dir)
    for item in fp32_model.parent.iterdir():
        if item.suffix not in (".json", ".txt", ".jinja"):  # the graph and its weights
            shutil.move(item, model_dir / item.name)
    return model_dir / convert.MODEL_FILE


def _quiet_libraries() -> None:
    """transformers and optimum log deprecation chatter at INFO/WARNING; keep errors."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    logging.getLogger("optimum").setLevel(logging.ERROR)


def export_model(source: str, out: Path, precision: str | None = None, device: str = "cpu",
                 name: str | None = None, force: bool = False,
                 progress: Progress = print, source_label: str | None = None,
                 attention: str = "mha", context: int = convert.GQA_CONTEXT,
                 adapter: str | None = None) -> Manifest:
    """Export `source` to the model directory `out` and return its manifest. `attention`
    "gqa": GroupQueryAttention on a static KV buffer of `context` positions per row;
    `adapter` (a peft LoRA directory): the adapter merged into the weights."""
    precision = precision or DEVICE_DEFAULT_PRECISION[device]
    if precision not in PRECISIONS:
        raise VibeError(f"unknown precision {precision!r}", f"use one of {', '.join(PRECISIONS)}")
    if attention not in ATTENTIONS:
        raise VibeError(f"unknown attention {attention!r}", f"use one of {', '.join(ATTENTIONS)}")
    if not 64 <= context <= 131072:
        raise VibeError(f"context {context} is out of range", "use 64 to 131072 positions")
    _prepare_out(out, force)
    _quiet_libraries()
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        shape = (attention, context)
        manifest = _export_into(source, work, precision, device, name or out.name, progress,
                                shape, adapter)
        if source_label:
            manifest.source = source_label
            write_manifest(work / "model", manifest)
        if out.exists():
            shutil.rmtree(out)
        (work / "model").rename(out)
        return manifest
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _rewrite_attention(fp32: Path, checkpoint: Path, config, shape: tuple[str, int],
                       progress: Progress) -> None:
    attention, context = shape
    if attention == "gqa":
        settings = json.loads((checkpoint / "config.json").read_text())
        layers = convert.gqa_attention(fp32, settings, context)
        if not layers:
            raise VibeError("the graph's attention could not be rewritten to "
                            "GroupQueryAttention", "export with --attention mha")
        progress(f"  GroupQueryAttention in {layers} layers, a static KV buffer of "
                 f"{context} positions")
        return
    grouped = convert.group_attention(fp32, config.num_attention_heads)
    if grouped:
        progress(f"  attention reads the {config.num_key_value_heads} KV heads directly in "
                 f"{grouped} layers (no repeat_kv)")


def _export_into(source: str, work: Path, precision: str, device: str, name: str,
                 progress: Progress, shape: tuple[str, int] = ("mha", 0),
                 adapter: str | None = None) -> Manifest:
    from transformers import AutoConfig

    checkpoint = _step(progress, f"loading {source}", sources.resolve, source, work)
    if adapter:
        checkpoint = _step(progress, f"merging the LoRA adapter {adapter}", lora.merge_peft,
                           checkpoint, Path(adapter), work / "merged")
    fp32 = _step(progress, "exporting to ONNX (fp32)", convert.export_fp32, checkpoint,
                 work / "onnx-fp32")
    convert.add_logits_to_keep(fp32)
    config = AutoConfig.from_pretrained(checkpoint)
    _rewrite_attention(fp32, checkpoint, config, shape, progress)
    model_dir = work / "model"
    model_dir.mkdir()
    model = _step(progress, f"converting to {precision}", _convert, fp32, model_dir, precision)
    branches = lora.add_lora_inputs(model)
    progress(f"  LoRA inputs on {branches} projections ({', '.join(lora.TARGETS)}; empty: "
             "the base model)")
    _copy_tokenizer(checkpoint, model_dir)
    tokenizer = sources.tokenizer(model_dir)
    report = _step(progress, "checking parity against PyTorch", parity.check, checkpoint,
                   model, precision, tokenizer)
    _report_parity(report, precision, progress)
    shutil.rmtree(work / "onnx-fp32", ignore_errors=True)
    gqa = shape[0] == "gqa"
    manifest = Manifest(
        name=name, source=f"{source} + LoRA {adapter} (merged)" if adapter else str(source),
        architecture=config.architectures[0],
        precision=precision, device=device, parity=report, tools=tool_versions(),
        model_file=model.name, eos_token_ids=_eos_ids(model_dir, tokenizer),
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        format=FORMAT_VERSION,
        attention="gqa" if gqa else "", context=shape[1] if gqa else 0,
    )
    manifest.files = _step(progress, "hashing files", hash_files, model_dir)
    write_manifest(model_dir, manifest)
    return manifest


def _report_parity(report: dict, precision: str, progress: Progress) -> None:
    progress(f"  parity ({precision}): max |Δlogit| {report['max_abs_logit_diff']:.4g}, "
             f"top-1 agreement {report['top1_agreement']:.1%}, greedy identical for "
             f"{report['greedy_identical_tokens']}/{report['continuation_tokens']} tokens")
    if not report["passed"]:
        raise VibeError(f"the {precision} export does not match PyTorch closely enough: {report}",
                        "the model may use an architecture feature the exporter mishandles")
