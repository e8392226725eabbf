"""`vibe-ls bench --adapters`: what LoRA costs. Switching an adapter (loaded from disk the
first time, already loaded after), and decode speed with an adapter active, with none active,
and on the same weights without LoRA inputs at all (the graph before format 5)."""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from vibe_ls.adapters import AdapterManifest, base_hash, resolve_adapter, write_adapter
from vibe_ls.bench import workload
from vibe_ls.engine import Decoder, Engine, Request, open_session

ROUNDS = 3  # decode runs per variant, alternated, the median reported (the machine is shared)


def _decode_tok_s(engine: Engine, prompt: list[int], new_tokens: int) -> float:
    engine.prefixes.clear()
    return engine.generate(Request(prompt, max_new_tokens=new_tokens,
                                   ignore_eos=True)).tokens_per_s


def synthetic_adapter(engine: Engine, directory: Path, rank: int = 8) -> Path:
    """A random rank-`rank` adapter for every LoRA input of the model (for timing only)."""
    rng = np.random.default_rng(0)
    inputs = {}
    for name, shape in engine.decoder.lora_inputs.items():
        size = (shape[0], rank) if name.endswith("lora_A.weight") else (rank, shape[1])
        inputs[name] = rng.normal(0, 0.01, size).astype(np.float32)
    manifest = AdapterManifest(name="bench-synthetic", base_model=engine.name,
                               base_hash=base_hash(engine.manifest), r=rank, alpha=rank,
                               targets=sorted({n.split(".")[-3] for n in inputs}),
                               source="bench: random weights")
    return write_adapter(directory, inputs, manifest, dtype=engine.decoder.kv_dtype)


def without_lora(model_dir: Path, graph: Path) -> Path:
    """The model's graph with its LoRA branches taken out, written to `graph` in the model's
    directory (its external weights are found there). Needs the onnx package."""
    import onnx

    model = onnx.load(model_dir / "model.onnx", load_external_data=False)
    g = model.graph
    lora = {i.name for i in g.input if i.name.endswith((".lora_A.weight", ".lora_B.weight"))}
    adds = [n for n in g.node if n.op_type == "Add" and n.name.endswith("/lora/Add")]
    for add in adds:  # the projection writes its output again where the branch added to it
        producer = next(n for n in g.node if add.input[0] in n.output)
        producer.output[0] = add.output[0]
    drop = [n for n in g.node if "/lora/" in n.name]
    for node in drop:
        g.node.remove(node)
    for items in (g.input, g.initializer):
        for item in [i for i in items if i.name in lora]:
            items.remove(item)
    onnx.save_model(model, graph)
    return graph


def switch_ms(engine: Engine, directory: Path) -> tuple[float, float]:
    """(first switch: read, verified and fed; later switches: fed) in milliseconds."""
    start = time.perf_counter()
    engine.use_adapter(directory)
    first = (time.perf_counter() - start) * 1000
    later = []
    for _ in range(10):
        engine.use_adapter(None)
        start = time.perf_counter()
        engine.use_adapter(directory)
        later.append((time.perf_counter() - start) * 1000)
    return first, statistics.median(later)


def adapters_bench(model: str, device: str, new_tokens: int, adapter: str = "") -> dict:
    engine = Engine(model, device=device)
    if not engine.decoder.lora_inputs:
        return {"model": engine.name, "skipped": "the model has no LoRA inputs (vibe-ls setup)"}
    prompt = engine.encode_chat(workload.short_messages())
    engine.generate(Request(prompt, max_new_tokens=8))  # warm up
    with tempfile.TemporaryDirectory(prefix=".bench-adapter-", dir=engine.model_dir.parent) as tmp:
        directory = (resolve_adapter(adapter, engine.installed_as) if adapter
                     else synthetic_adapter(engine, Path(tmp) / "synthetic"))
        first, later = switch_ms(engine, directory)
        plain_graph = engine.model_dir / ".bench-without-lora.onnx"
        try:
            without_lora(engine.model_dir, plain_graph)
            bare = Decoder(open_session(plain_graph, device).session)
            rates = _alternate(engine, bare, directory, prompt, new_tokens)
        finally:
            plain_graph.unlink(missing_ok=True)
    return {"model": engine.name, "precision": engine.manifest.precision,
            "provider": engine.provider, "adapter": adapter or "synthetic rank 8",
            "switch_first_ms": first, "switch_ms": later, **rates}


def _alternate(engine: Engine, bare, directory: Path, prompt: list[int],
               new_tokens: int) -> dict:
    """Decode tok/s of each variant, run in turns so that a busy moment hits them alike."""
    runs: dict[str, list[float]] = {"active": [], "off": [], "no_lora_inputs": []}
    with_lora = engine.decoder
    for _ in range(ROUNDS):
        engine.use_adapter(directory)
        runs["active"].append(_decode_tok_s(engine, prompt, new_tokens))
        engine.use_adapter(None)
        runs["off"].append(_decode_tok_s(engine, prompt, new_tokens))
        engine.decoder = bare
        try:
            runs["no_lora_inputs"].append(_decode_tok_s(engine, prompt, new_tokens))
        finally:
            engine.decoder = with_lora
    return {f"decode_tok_s_{k}": statistics.median(v) for k, v in runs.items()} | {
        "rounds": ROUNDS, "all": runs}


def print_adapters(report: dict) -> None:
    if "skipped" in report:
        print(f"{report['model']}: skipped ({report['skipped']})")
        return
    base = report["decode_tok_s_no_lora_inputs"]
    print(f"model {report['model']} ({report['precision']}) on {report['provider']}, "
          f"adapter {report['adapter']}")
    print(f"switch: first {report['switch_first_ms']:.1f} ms (read + checksums + feed), "
          f"then {report['switch_ms']:.2f} ms")
    for key, label in (("no_lora_inputs", "without LoRA inputs"), ("off", "no adapter active"),
                       ("active", "adapter active")):
        rate = report[f"decode_tok_s_{key}"]
        print(f"decode {label:<22} {rate:7.1f} tok/s ({rate / base - 1:+.1%}), median of "
              f"{report['rounds']}")
