"""Peer engines on the same weights, each run in its own process (fair peak RSS):
`python -m vibe_ls.bench.peers NAME --gguf FILE --prompt-file F --new N --threads T`
prints one JSON object. A peer that is not installed reports why instead of numbers."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from vibe_ls.bench.memory import peak_rss_mb


def llama_cpp(gguf: Path, prompt: str, new_tokens: int, threads: int) -> dict:
    from llama_cpp import Llama, __version__

    start = time.perf_counter()
    llm = Llama(model_path=str(gguf), n_threads=threads, n_threads_batch=threads, n_ctx=4096,
                n_batch=512, verbose=False)
    load_s = time.perf_counter() - start
    ids = llm.tokenize(prompt.encode(), add_bos=False, special=True)
    llm.eval(ids[:8])  # warm up
    llm.reset()
    start = time.perf_counter()
    llm.eval(ids)
    token = llm.sample(temp=0.0)
    ttft = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(new_tokens - 1):
        llm.eval([token])  # one decode step
        token = llm.sample(temp=0.0)
    decode_s = time.perf_counter() - start
    return {"engine": "llama.cpp", "version": __version__, "load_s": load_s,
            "prompt_tokens": len(ids), "ttft_s": ttft, "prefill_tok_s": len(ids) / ttft,
            "decode_tok_s": (new_tokens - 1) / decode_s}


def transformers_generate(gguf: Path, prompt: str, new_tokens: int, threads: int,
                          device: str = "cpu", rows: int = 6) -> dict:
    """PyTorch + transformers `generate` with a static KV cache, greedy: fp16 on CUDA, fp32
    on the CPU; one row, then `rows` copies of the prompt together."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, __version__

    torch.set_num_threads(threads)
    start = time.perf_counter()
    kwargs = {"gguf_file": gguf.name}
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, **kwargs)
    dtype = torch.float16 if device == "cuda" else torch.float32
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, dtype=dtype, **kwargs)
    model = model.to(device).eval()
    load_s = time.perf_counter() - start
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).input_ids.to(device)

    def timed(batch, n: int) -> float:
        if device == "cuda":
            torch.cuda.synchronize()
        begin = time.perf_counter()
        with torch.inference_mode():
            model.generate(batch, attention_mask=torch.ones_like(batch), max_new_tokens=n,
                           min_new_tokens=n, do_sample=False, cache_implementation="static",
                           pad_token_id=tokenizer.eos_token_id)
        if device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - begin
    timed(ids, 4)  # warm up: kernels, the static cache's allocation
    ttft, total = timed(ids, 1), timed(ids, new_tokens)
    many = ids.repeat(rows, 1)
    many_ttft, many_total = timed(many, 1), timed(many, new_tokens)
    return {"engine": "transformers", "version": __version__, "device": device,
            "dtype": str(dtype).removeprefix("torch."), "load_s": load_s,
            "prompt_tokens": ids.shape[1], "ttft_s": ttft, "prefill_tok_s": ids.shape[1] / ttft,
            "decode_tok_s": (new_tokens - 1) / max(total - ttft, 1e-9),
            "batch_rows": rows,
            "batch_decode_tok_s": rows * (new_tokens - 1) / max(many_total - many_ttft, 1e-9)}


def genai(model_dir: Path | None, prompt: str, new_tokens: int, threads: int) -> dict:
    import onnxruntime_genai as og

    if model_dir is None:
        raise RuntimeError("onnxruntime-genai needs its own model directory (--genai-model)")
    model = og.Model(str(model_dir))
    tokenizer = og.Tokenizer(model)
    ids = tokenizer.encode(prompt)
    params = og.GeneratorParams(model)
    params.set_search_options(max_length=len(ids) + new_tokens, do_sample=False)
    generator = og.Generator(model, params)
    start = time.perf_counter()
    generator.append_tokens(ids)
    generator.generate_next_token()
    ttft = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(new_tokens - 1):
        generator.generate_next_token()
    decode_s = time.perf_counter() - start
    return {"engine": "onnxruntime-genai", "version": og.__version__, "prompt_tokens": len(ids),
            "ttft_s": ttft, "prefill_tok_s": len(ids) / ttft,
            "decode_tok_s": (new_tokens - 1) / decode_s}


PEERS = {"llama.cpp": llama_cpp, "transformers": transformers_generate, "genai": genai}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("peer", choices=sorted(PEERS))
    parser.add_argument("--gguf", type=Path)
    parser.add_argument("--genai-model", type=Path)
    parser.add_argument("--prompt-file", type=Path, required=True)
    parser.add_argument("--new", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--rows", type=int, default=6)
    args = parser.parse_args()
    source = args.genai_model if args.peer == "genai" else args.gguf
    prompt = args.prompt_file.read_text()
    extra = {"device": args.device, "rows": args.rows} if args.peer == "transformers" else {}
    try:
        result = PEERS[args.peer](source, prompt, args.new, args.threads, **extra)
        result["peak_rss_mb"] = peak_rss_mb()
    except ImportError as exc:
        result = {"engine": args.peer, "skipped": f"not installed ({exc.name})"}
    except Exception as exc:  # a peer failing must not sink the whole benchmark
        result = {"engine": args.peer, "skipped": f"{type(exc).__name__}: {exc}"}
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
