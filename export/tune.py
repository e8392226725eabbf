"""`vibe-ls tune` and `vibe-ls adapter import`: a LoRA adapter for an installed model, trained
here with peft on its PyTorch checkpoint or converted from peft files, written into
$VIBE_LS_HOME/adapters/<model>/<name>/ with its parity against peft in PyTorch."""

from __future__ import annotations

import hashlib
import math
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from vibe_ls_export import sources
from vibe_ls_export.examples import Example, load_examples
from vibe_ls_export.lora import TARGETS, peft_to_inputs, read_peft

from vibe_ls.adapters import (
    AdapterManifest,
    adapters_dir,
    base_hash,
    read_adapter_manifest,
    write_adapter,
)
from vibe_ls.errors import VibeError
from vibe_ls.home import resolve_model
from vibe_ls.manifest import read_manifest

Progress = Callable[[str], None]
PARITY_PROMPT = "def binary_search(items: list[int], target: int) -> int:\n"


@dataclass
class TuneOptions:
    r: int = 8
    alpha: float = 16.0
    dropout: float = 0.05
    targets: tuple[str, ...] = TARGETS
    epochs: int = 3
    lr: float = 2e-4
    batch: int = 4
    holdout: float = 0.1  # share of the examples kept out of training, to validate on
    max_tokens: int = 2048  # longer examples are cut (their answer's tail is lost)
    seed: int = 0
    source: str | None = None  # the base's PyTorch checkpoint (default: its manifest's)


def _split(examples: list[Example], holdout: float, seed: int) -> tuple[list, list]:
    """(train, held out): at least one of each; a single example validates on itself."""
    order = examples[:]
    random.Random(seed).shuffle(order)
    held = max(1, round(len(order) * holdout)) if len(order) > 1 else 0
    return (order[held:], order[:held]) if held else (order, order)


def _encode(tokenizer, example: Example, max_tokens: int) -> tuple[list[int], list[int]]:
    """(ids, labels): the chat prompt, then the answer and the end of turn; labels only on
    the answer (the model learns to answer, not to write prompts)."""
    messages, answer = example
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True)
    reply = [*tokenizer.encode(answer, add_special_tokens=False), tokenizer.eos_token_id]
    ids = (prompt + reply)[:max_tokens]
    labels = ([-100] * len(prompt) + reply)[:max_tokens]
    return ids, labels


def _batch(rows: list[tuple[list[int], list[int]]], pad: int):
    import torch

    width = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), width), pad)
    labels = torch.full((len(rows), width), -100)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for row, (i, lab) in enumerate(rows):
        ids[row, :len(i)], labels[row, :len(i)], mask[row, :len(i)] = \
            torch.tensor(i), torch.tensor(lab), 1
    return ids, mask, labels


def _loss(model, rows, pad: int, batch: int) -> float:
    """Mean loss per answer token over `rows`, without dropout or gradients."""
    import torch

    model.eval()
    total, tokens = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(rows), batch):
            ids, mask, labels = _batch(rows[start:start + batch], pad)
            summed, n = _answer_loss(model, ids, mask, labels)
            total += float(summed)
            tokens += n
    return total / max(tokens, 1)


def _answer_loss(model, ids, mask, labels):
    """(summed cross-entropy, token count) over the answer tokens. Logits are computed only
    from the first answer position on: the prompt's logits (most of an example, at the
    vocabulary's 150k columns each) were most of the memory a step took."""
    import torch

    answer, width = labels != -100, labels.shape[1]
    answered = answer.any(dim=1)  # a row cut before its answer has none
    first = int(answer.int().argmax(dim=1)[answered].min()) if bool(answered.any()) else width
    keep = min(max(width - first + 1, 1), width)  # logits at t predict the token at t + 1
    logits = model(input_ids=ids, attention_mask=mask, logits_to_keep=keep).logits
    targets = labels[:, width - keep + 1:]
    n = int((targets != -100).sum())
    summed = torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]).float(), targets.reshape(-1),
        ignore_index=-100, reduction="sum")
    return summed, n


def _checkpoint(model_dir: Path, source: str | None, work: Path) -> Path:
    source = source or read_manifest(model_dir).source
    try:
        return sources.resolve(source, work)
    except VibeError as exc:
        raise VibeError(f"the PyTorch checkpoint of {model_dir.name} ({source}) is not "
                        f"available: {exc.message}", "pass --source CHECKPOINT_OR_GGUF") from exc


def _peft_model(checkpoint: Path, options: TuneOptions):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(checkpoint, dtype="float32")
    config = LoraConfig(r=options.r, lora_alpha=options.alpha, lora_dropout=options.dropout,
                        target_modules=list(options.targets), task_type="CAUSAL_LM")
    return get_peft_model(model, config)


def _train(model, train, held, pad: int, options: TuneOptions,
           progress: Progress) -> tuple[float, float, dict]:
    """AdamW over `train` for the epochs asked; the held-out loss after each epoch (and
    every so often within one); the LoRA weights where it was lowest. Ctrl-C stops and
    keeps the best so far. Returns (loss before, best loss, best weights)."""
    import torch

    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=options.lr, weight_decay=0.0)
    before = best = _loss(model, held, pad, options.batch)
    progress(f"held-out loss before: {before:.4f} ({len(held)} examples)")
    best_state = _lora_state(model)
    steps = math.ceil(len(train) / options.batch) * options.epochs
    check_every = max(1, min(steps // 10, 50))
    rng, step, started = random.Random(options.seed), 0, time.monotonic()
    try:
        for _ in range(options.epochs):
            order = rng.sample(train, len(train))
            for start in range(0, len(order), options.batch):
                model.train()
                ids, mask, labels = _batch(order[start:start + options.batch], pad)
                summed, n = _answer_loss(model, ids, mask, labels)
                loss = summed / max(n, 1)
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(trainable, 1.0)
                optimizer.step()
                step += 1
                if step % check_every == 0 or step == steps:
                    held_loss = _loss(model, held, pad, options.batch)
                    if held_loss < best:
                        best, best_state = held_loss, _lora_state(model)
                    progress(f"step {step}/{steps} [{'#' * (20 * step // steps):<20}] "
                             f"loss {loss.item():.4f}, held-out {held_loss:.4f} (best "
                             f"{best:.4f}), {time.monotonic() - started:.0f} s")
    except KeyboardInterrupt:
        progress(f"interrupted at step {step}/{steps}: keeping the best (held-out {best:.4f})")
    return before, best, best_state


def _lora_state(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items() if "lora_" in k}


def _data_hash(examples: list[Example]) -> str:
    digest = hashlib.sha256()
    for messages, answer in examples:
        digest.update(repr((messages, answer)).encode())
    return digest.hexdigest()[:16]


def tune(data: Path, model: str, name: str, options: TuneOptions | None = None,
         progress: Progress = print) -> Path:
    """Train a LoRA adapter for `model` on `data`; returns the adapter directory."""
    import torch

    options = options or TuneOptions()
    model_dir = resolve_model(model)
    base = read_manifest(model_dir)
    tokenizer = sources.tokenizer(model_dir)
    examples = load_examples(data, lambda text: len(tokenizer.encode(text)))
    train, held = _split(examples, options.holdout, options.seed)
    progress(f"{len(examples)} examples: {len(train)} to train on, {len(held)} held out")
    encode = [_encode(tokenizer, e, options.max_tokens) for e in train]
    held_rows = [_encode(tokenizer, e, options.max_tokens) for e in held]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    torch.manual_seed(options.seed)
    with tempfile.TemporaryDirectory(prefix=".tune-", dir=adapters_dir().parent) as tmp:
        work = Path(tmp)
        peft_model = _peft_model(_checkpoint(model_dir, options.source, work), options)
        start = time.monotonic()
        before, after, state = _train(peft_model, encode, held_rows, pad, options, progress)
        peft_model.load_state_dict(state, strict=False)
        progress(f"tuned in {time.monotonic() - start:.0f} s; held-out loss {before:.4f} -> "
                 f"{after:.4f}")
        peft_model.save_pretrained(work / "peft")
        manifest = AdapterManifest(
            name=name, base_model=base.name, base_hash=base_hash(base), r=options.r,
            alpha=options.alpha, targets=list(options.targets), dropout=options.dropout,
            source=f"tune {data}", data_hash=_data_hash(examples), data_size=len(examples),
            val_loss_before=round(before, 6), val_loss_after=round(after, 6))
        return _install(work / "peft", model_dir, manifest, peft_model.eval(), tokenizer,
                        progress)


def import_peft(peft_dir: Path, model: str, name: str, source: str | None = None,
                progress: Progress = print) -> Path:
    """Convert a peft LoRA trained elsewhere for `model`; returns the adapter directory."""
    model_dir = resolve_model(model)
    base = read_manifest(model_dir)
    config, _ = read_peft(peft_dir)
    manifest = AdapterManifest(
        name=name, base_model=base.name, base_hash=base_hash(base), r=int(config["r"]),
        alpha=float(config.get("lora_alpha", config["r"])),
        targets=sorted(config.get("target_modules") or []),
        dropout=float(config.get("lora_dropout", 0.0)), source=f"import {peft_dir}")
    peft_model, tokenizer = None, None
    try:
        peft_model, tokenizer = _load_peft(peft_dir, model_dir, source)
    except (ImportError, VibeError) as exc:
        progress(f"parity against PyTorch skipped: {exc}")
    return _install(peft_dir, model_dir, manifest, peft_model, tokenizer, progress)


def _load_peft(peft_dir: Path, model_dir: Path, source: str | None):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    work = Path(tempfile.mkdtemp(prefix=".import-", dir=adapters_dir().parent))
    try:
        checkpoint = _checkpoint(model_dir, source, work)
        base = AutoModelForCausalLM.from_pretrained(checkpoint, dtype="float32")
        model = PeftModel.from_pretrained(base, peft_dir).eval()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return model, sources.tokenizer(model_dir)


def _install(peft_dir: Path, model_dir: Path, manifest: AdapterManifest, peft_model,
             tokenizer, progress: Progress) -> Path:
    """Convert, write the adapter directory, and measure its parity (when PyTorch has it)."""
    from vibe_ls.engine import Engine

    config, tensors = read_peft(peft_dir)
    engine = Engine(model_dir, device="cpu")
    inputs = peft_to_inputs(config, tensors, engine.decoder.lora_inputs)
    directory = adapters_dir(engine.installed_as) / manifest.name
    write_adapter(directory, inputs, manifest, peft_dir, engine.decoder.kv_dtype)
    progress(f"adapter {manifest.name} written to {directory}")
    if peft_model is not None:
        engine.use_adapter(directory)
        manifest = read_adapter_manifest(directory)
        manifest.parity = adapter_parity(engine, peft_model, tokenizer)
        _rewrite_manifest(directory, manifest)
        progress(f"parity with peft in PyTorch: max |Δlogit| "
                 f"{manifest.parity['max_abs_logit_diff']:.3g} ({engine.manifest.precision})")
    return directory


def _rewrite_manifest(directory: Path, manifest: AdapterManifest) -> None:
    import json
    from dataclasses import asdict

    from vibe_ls.adapters import ADAPTER_MANIFEST

    (directory / ADAPTER_MANIFEST).write_text(json.dumps(asdict(manifest), indent=2) + "\n")


def adapter_parity(engine, peft_model, tokenizer, prompt: str = PARITY_PROMPT) -> dict:
    """Logits of the ONNX model with the adapter fed vs peft in PyTorch, on one prompt."""
    import torch

    ids = tokenizer.encode(prompt)
    onnx_logits, _ = engine.decoder.forward(ids, engine.decoder.empty_cache())
    with torch.no_grad():
        torch_logits = peft_model(torch.tensor([ids])).logits[0].float().numpy()
    diff = float(np.abs(onnx_logits - torch_logits).max())
    top1 = float(np.mean(onnx_logits.argmax(-1) == torch_logits.argmax(-1)))
    return {"prompt_tokens": len(ids), "max_abs_logit_diff": round(diff, 6),
            "top1_agreement": round(top1, 4), "precision": engine.manifest.precision}
