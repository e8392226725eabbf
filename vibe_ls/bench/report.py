"""Runs the benchmark (ours in-process, peers in subprocesses) and prints/writes the report."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from vibe_ls import home
from vibe_ls.bench import memory, ours, workload
from vibe_ls.engine import Engine

PEER_NAMES = ("llama.cpp", "genai", "transformers")


def run_peer(name: str, gguf: Path, prompt: str, new_tokens: int, threads: int,
             genai_model: Path | None) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
        f.write(prompt)
        f.flush()
        cmd = [sys.executable, "-m", "vibe_ls.bench.peers", name, "--gguf", str(gguf),
               "--prompt-file", f.name, "--new", str(new_tokens), "--threads", str(threads)]
        if genai_model:
            cmd += ["--genai-model", str(genai_model)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return {"engine": name, "skipped": f"crashed: {proc.stderr.strip()[-300:]}"}
    return json.loads(proc.stdout)


def _row(r: dict, base: float) -> str:
    if "skipped" in r:
        return f"{r['engine']:<18} skipped: {r['skipped']}"
    ratio = base / r["decode_tok_s"] if r["decode_tok_s"] else 0
    return (f"{r['engine']:<18} {r['decode_tok_s']:>8.1f} {r['prefill_tok_s']:>9.1f} "
            f"{r['ttft_s']:>7.3f} {r.get('peak_rss_mb', 0):>8.0f}   x{ratio:.2f}")


def print_report(report: dict) -> None:
    o = report["vibe-ls"]
    print(f"model {report['model']} ({report['precision']}), {o['provider']}, "
          f"{o['threads']} threads, {o['prompt_tokens']}-token prompt, "
          f"{o['new_tokens']} new tokens")
    print(f"{'engine':<18} {'decode':>8} {'prefill':>9} {'ttft s':>7} {'RSS MB':>8}   "
          f"vibe-ls decode / this")
    for r in [o, *report["peers"]]:
        print(_row(r, o["decode_tok_s"]))
    print(f"TODO prompt ({o['todo_prompt_tokens']} tokens): ttft cold {o['ttft_cold_s']:.3f} s, "
          f"with cached prefix ({o['cached_prefix_tokens']} tokens) "
          f"{o['ttft_cached_prefix_s']:.3f} s")
    print(f"rewrite: decode {o['rewrite_decode_tok_s']:.1f} tok/s, with prompt lookup "
          f"{o['rewrite_speculative_decode_tok_s']:.1f} tok/s "
          f"(acceptance {o['speculation_acceptance']:.0%})")
    if "batch_decode_tok_s" in o:
        print(f"best-of-n: one sample alone {o['sampled_decode_tok_s']:.1f} tok/s; "
              f"{o['batch_rows']} decoded together {o['batch_decode_tok_s']:.1f} tok/s over "
              f"all rows ({o['batch_decode_tok_s'] / o['sampled_decode_tok_s']:.1f}x)")
    print(f"memory: read bandwidth {o['bandwidth_gb_s']:.1f} GB/s, "
          f"{o['weight_mb_per_token']:.0f} MB of weights per token -> bound "
          f"{o['bandwidth_bound_tok_s']:.0f} tok/s; decode is {o['bandwidth_fraction']:.0%} of it")


def bench(model: str, device: str, threads: int | None, new_tokens: int,
          compare: list[str], genai_model: Path | None = None) -> dict:
    threads = threads or memory.cpu_threads()
    engine = Engine(model, device=device, threads=threads)
    report = {"model": engine.name, "precision": engine.manifest.precision,
              "machine": platform.processor() or platform.machine(),
              "vibe-ls": ours.run(engine, new_tokens, threads), "peers": []}
    prompt = engine.chat.render(workload.short_messages())
    gguf = home.weights_dir() / f"{engine.name}.gguf"
    del engine
    for name in compare:
        report["peers"].append(run_peer(name, gguf, prompt, new_tokens, threads, genai_model))
    return report
