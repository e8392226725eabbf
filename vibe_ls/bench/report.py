"""Runs the benchmark (ours in-process, peers in subprocesses) and prints/writes the report."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from vibe_ls import home
from vibe_ls.bench import device as gpu
from vibe_ls.bench import memory, ours, workload
from vibe_ls.engine import Engine

PEER_NAMES = ("llama.cpp", "genai", "transformers")


def run_peer(name: str, gguf: Path, prompt: str, new_tokens: int, threads: int,
             genai_model: Path | None, device: str = "cpu", rows: int = 6) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".txt") as f:
        f.write(prompt)
        f.flush()
        cmd = [sys.executable, "-m", "vibe_ls.bench.peers", name, "--gguf", str(gguf),
               "--prompt-file", f.name, "--new", str(new_tokens), "--threads", str(threads),
               "--device", device, "--rows", str(rows)]
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
    print(f"model {report['model']} ({report['precision']}, {o.get('attention', 'mha')} "
          f"attention) on {report['machine']}, {o['provider']}, "
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
    for r in report["peers"]:
        if "batch_decode_tok_s" in r:
            print(f"{r['engine']} ({r.get('device', 'cpu')}, {r.get('dtype', '')}): "
                  f"{r['batch_rows']} rows together {r['batch_decode_tok_s']:.1f} tok/s over "
                  f"all rows (vibe-ls x{o['batch_decode_tok_s'] / r['batch_decode_tok_s']:.2f} "
                  f"with {o['batch_rows']} rows)")
    print(f"memory: read bandwidth {o['bandwidth_gb_s']:.1f} GB/s "
          f"({o.get('bandwidth_from', 'measured')}), "
          f"{o['weight_mb_per_token']:.0f} MB of weights per token -> bound "
          f"{o['bandwidth_bound_tok_s']:.0f} tok/s; decode is {o['bandwidth_fraction']:.0%} of it")


def bench(model: str, device: str, threads: int | None, new_tokens: int,
          compare: list[str], genai_model: Path | None = None) -> dict:
    threads = threads or memory.cpu_threads()
    engine = Engine(model, device=device, threads=threads)
    report = {"model": engine.name, "precision": engine.manifest.precision,
              "machine": platform.processor() or platform.machine(),
              "vibe-ls": ours.run(engine, new_tokens, threads), "peers": []}
    if engine.provider == "cuda":
        report["machine"] = gpu.gpu_name() or "unknown GPU"
    prompt = engine.chat.render(workload.short_messages())
    gguf = home.weights_dir() / f"{engine.name}.gguf"
    provider, rows = engine.provider, report["vibe-ls"]["batch_rows"]
    del engine
    for name in compare:
        report["peers"].append(run_peer(name, gguf, prompt, new_tokens, threads, genai_model,
                                        provider, rows))
    return report


def _print_modes(report: dict, r: dict, shape: str = "") -> None:
    """One quality run's lines (one shape's, where `shape` names it), as they always read."""
    where = f" ({shape} shape)" if shape else ""
    for mode in ("off", "on"):
        if mode not in r:
            continue
        m = r[mode]
        print(f"{report['model']}{where}, verification {mode}: pass@1 {m['pass_at_1']:.0%} on "
              f"{report['problems']} {report['difficulty']} problems"
              + (f" (set {report['set']})" if report.get("set") else "") + " "
              f"({m['cases_passed']} test cases passed); {m['inserted']:.0%} got an "
              f"insert, {m['inserts_with_note']:.0%} of inserts carry a complexity note; "
              f"{m['seconds_per_problem']:.1f} s each")
    if "on" in r:
        on = r["on"]
        print(f"complexity: {on['notes_measured']} notes measured; the model's time claim "
              f"agreed with the measurement in {on['claims_agreeing']:.0%}, the inserted notes "
              f"(after correction) in {on['notes_agreeing']:.0%}")
        print(f"the message called {on['called_verified']:.0%} of the inserts verified; "
              f"{on['verified_passing']:.0%} of those pass the hidden tests")
    if "time_ratio_median" in r:
        print(f"time with verification: median {r['time_ratio_median']:.2f}x, "
              f"mean {r['time_ratio_mean']:.2f}x of the time without; median "
              f"{r['time_ratio_first_kept']:.2f}x where only the first answer was "
              f"written ({r['first_kept']} problems), "
              f"{r['time_ratio_more_written']:.2f}x where more candidates were written")


def _pass_cell(r: dict, key: str) -> str:
    return f"{r[key]['pass_at_1']:.0%}" if key in r else "-"


def print_shape_table(report: dict) -> None:
    """pass@1 by TODO shape: vibe-ls (verification on, off) beside the bare model."""
    print(f"{'shape':<10} {'vibe-ls (verify on)':>19}  {'vibe-ls (verify off)':>20}  "
          f"{'raw model (greedy)':>18}  {'n':>4}")
    for shape, r in report["shapes"].items():
        print(f"{shape:<10} {_pass_cell(r, 'on'):>19}  {_pass_cell(r, 'off'):>20}  "
              f"{_pass_cell(r, 'raw'):>18}  {report['problems']:>4}")


def print_quality(report: dict) -> None:
    if "shapes" not in report:
        _print_modes(report, report)
        return
    for shape, r in report["shapes"].items():
        _print_modes(report, r, shape)
    print_shape_table(report)
