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


def transformers_fp32(gguf: Path, prompt: str, new_tokens: int, threads: int) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, __version__

    torch.set_num_threads(threads)
    start = time.perf_counter()
    kwargs = {"gguf_file": gguf.name}
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, **kwargs)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, dtype="float32", **kwargs).eval()
    load_s = time.perf_counter() - start
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).input_ids
    with torch.inference_mode():
        start = time.perf_counter()
        out = model(ids, use_cache=True)
        token = out.logits[:, -1:].argmax(-1)
        ttft = time.perf_counter() - start
        start = time.perf_counter()
        past = out.past_key_values
        for _ in range(new_tokens - 1):
            out = model(token, past_key_values=past, use_cache=True)  # one decode step
            past, token = out.past_key_values, out.logits[:, -1:].argmax(-1)
        decode_s = time.perf_counter() - start
    return {"engine": "transformers", "version": __version__, "load_s": load_s,
            "prompt_tokens": ids.shape[1], "ttft_s": ttft, "prefill_tok_s": ids.shape[1] / ttft,
            "decode_tok_s": (new_tokens - 1) / decode_s}


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


PEERS = {"llama.cpp": llama_cpp, "transformers": transformers_fp32, "genai": genai}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("peer", choices=sorted(PEERS))
    parser.add_argument("--gguf", type=Path)
    parser.add_argument("--genai-model", type=Path)
    parser.add_argument("--prompt-file", type=Path, required=True)
    parser.add_argument("--new", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    source = args.genai_model if args.peer == "genai" else args.gguf
    prompt = args.prompt_file.read_text()
    try:
        result = PEERS[args.peer](source, prompt, args.new, args.threads)
        result["peak_rss_mb"] = peak_rss_mb()
    except ImportError as exc:
        result = {"engine": args.peer, "skipped": f"not installed ({exc.name})"}
    except Exception as exc:  # a peer failing must not sink the whole benchmark
        result = {"engine": args.peer, "skipped": f"{type(exc).__name__}: {exc}"}
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
