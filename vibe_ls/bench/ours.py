"""Measuring vibe-ls's engine: decode and prefill rates, time to first token cold and with a
cached system prefix, speculation on a rewrite, memory, and the bandwidth bound."""

from __future__ import annotations

from vibe_ls.bench import device, memory, workload
from vibe_ls.engine import Engine, Request
from vibe_ls.engine.sampling import Sampling

# samples decoded together, as best-of-n writes candidates (6 by default on CUDA)
BATCH_ROWS = {"cpu": 4, "cuda": 6}


def _forget(engine: Engine) -> None:
    """Drop every cached prompt prefix (the static buffer's rows and stash too)."""
    engine.prefixes.clear()
    forget = getattr(engine.decoder, "forget", None)
    if forget:
        forget()


def _timed(engine: Engine, prompt: list[int], new_tokens: int, **kw) -> dict:
    result = engine.generate(Request(prompt, max_new_tokens=new_tokens, ignore_eos=True, **kw))
    return {"prompt_tokens": result.prompt_tokens, "cached_tokens": result.cached_tokens,
            "new_tokens": len(result.tokens), "ttft_s": result.ttft_s,
            "prefill_tok_s": (result.prompt_tokens - result.cached_tokens) / result.ttft_s,
            "decode_tok_s": result.tokens_per_s, "drafted": result.drafted,
            "accepted": result.accepted}


def _batched(engine: Engine, prompt: list[int], new_tokens: int,
             rows: int) -> tuple[float, float]:
    """Decode rate of one sample alone, and over all rows when `rows` samples of the
    same prompt decode together (what verification's best-of-n does)."""
    def sampled(seed: int) -> Request:
        return Request(prompt, max_new_tokens=new_tokens, ignore_eos=True,
                       sampling=Sampling(temperature=0.4, top_p=0.95, seed=seed))
    alone = engine.generate(sampled(0)).tokens_per_s
    rows = engine.generate_many([sampled(seed) for seed in range(rows)])
    return alone, sum(len(r.tokens) - 1 for r in rows) / max(rows[0].decode_s, 1e-9)


def run(engine: Engine, new_tokens: int, threads: int) -> dict:
    short = engine.encode_chat(workload.short_messages())
    engine.generate(Request(short, max_new_tokens=8))  # warm up kernels and allocations
    _forget(engine)
    main = _timed(engine, short, new_tokens)
    _forget(engine)
    todo_en, todo_zh = (engine.encode_chat(workload.todo_messages(t)) for t in workload.TODOS)
    cold = _timed(engine, todo_en, 1)
    cached = _timed(engine, todo_zh, 1)  # same system prompt and file: only the TODO is new
    rewrite = engine.encode_chat(workload.rewrite_messages())
    plain = _timed(engine, rewrite, new_tokens)
    spec = _timed(engine, rewrite, new_tokens, speculate=True)
    rows = BATCH_ROWS.get(engine.provider, 4)
    sampled, batched = _batched(engine, todo_en, new_tokens, rows)
    bandwidth, bandwidth_from = device.bandwidth(engine.provider, threads)
    per_token = memory.weight_bytes_per_token(engine.model_dir, engine.manifest.precision)
    bound = bandwidth / per_token
    return {
        "engine": "vibe-ls", "provider": engine.provider, "threads": threads,
        "prompt_tokens": main["prompt_tokens"], "new_tokens": main["new_tokens"],
        "decode_tok_s": main["decode_tok_s"], "prefill_tok_s": main["prefill_tok_s"],
        "ttft_s": main["ttft_s"],
        "todo_prompt_tokens": cold["prompt_tokens"], "ttft_cold_s": cold["ttft_s"],
        "ttft_cached_prefix_s": cached["ttft_s"], "cached_prefix_tokens": cached["cached_tokens"],
        "rewrite_decode_tok_s": plain["decode_tok_s"],
        "rewrite_speculative_decode_tok_s": spec["decode_tok_s"],
        "speculation_acceptance": spec["accepted"] / max(spec["drafted"], 1),
        "sampled_decode_tok_s": sampled, "batch_rows": rows,
        "batch_decode_tok_s": batched,
        "load_s": engine.load_s, "peak_rss_mb": memory.peak_rss_mb(),
        "bandwidth_gb_s": bandwidth / 1e9, "bandwidth_from": bandwidth_from,
        "weight_mb_per_token": per_token / 1e6,
        "attention": engine.manifest.attention or "mha",
        "bandwidth_bound_tok_s": bound, "bandwidth_fraction": main["decode_tok_s"] / bound,
    }
