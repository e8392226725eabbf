"""Parity of an exported ONNX model against the PyTorch model it came from.

Two measures on a fixed prompt:
- teacher-forced: logits of both models over the prompt plus PyTorch's greedy continuation;
  max abs difference and top-1 (argmax) agreement per position;
- free-running: the engine's own greedy decode vs PyTorch's greedy decode, token by token.
fp32 must reproduce PyTorch's greedy continuation exactly; int4/fp16 are reported.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

PROMPT = (
    "def binary_search(items: list[int], target: int) -> int:\n"
    '    """Return the index of target in the sorted list items, or -1."""\n'
)
CONTINUATION_TOKENS = 32
# An int4/fp16 model whose argmax disagrees with PyTorch this often is broken, not rounded.
MIN_TOP1_AGREEMENT = {"fp32": 1.0, "fp16": 0.8, "int4": 0.6}


def _torch_greedy(model, ids: list[int], steps: int) -> tuple[list[int], np.ndarray]:
    """PyTorch's greedy continuation (no EOS stop) and its logits over prompt + continuation."""
    import torch

    # A plain loop, not generate(): a checkpoint's generation_config (repetition penalty,
    # sampling) must not change the reference.
    tokens: list[int] = []
    with torch.inference_mode():
        past, step = None, torch.tensor([ids])
        for _ in range(steps):
            out = model(step, past_key_values=past, use_cache=True)
            past, token = out.past_key_values, int(out.logits[0, -1].argmax())
            tokens.append(token)
            step = torch.tensor([[token]])
        logits = model(torch.tensor([ids + tokens])).logits[0].float().numpy()
    return tokens, logits


def _onnx_logits(onnx_model: Path, ids: list[int]) -> tuple[np.ndarray, object]:
    from vibe_ls.engine import Decoder, open_session
    from vibe_ls.engine.static import StaticDecoder, is_static

    opened = open_session(onnx_model, device="cpu")
    # a GQA graph runs on its static KV buffer, sized for the check alone
    decoder = (StaticDecoder(opened.session, "cpu", context=len(ids) + CONTINUATION_TOKENS)
               if is_static(opened.session) else Decoder(opened.session))
    logits, _ = decoder.forward(ids, decoder.empty_cache())
    return logits, decoder


def check(checkpoint: Path, onnx_model: Path, precision: str, tokenizer) -> dict:
    """The parity report stored in the manifest; `passed` says whether it meets the bar."""
    from transformers import AutoModelForCausalLM

    from vibe_ls.engine import greedy

    prompt = tokenizer.encode(PROMPT)
    model = AutoModelForCausalLM.from_pretrained(checkpoint, dtype="float32").eval()
    torch_tokens, torch_logits = _torch_greedy(model, prompt, CONTINUATION_TOKENS)
    del model
    onnx_logits, decoder = _onnx_logits(onnx_model, prompt + torch_tokens)
    onnx_tokens = greedy(decoder, prompt, CONTINUATION_TOKENS)
    n = len(prompt) + len(torch_tokens) - 1  # positions that predict a known next token
    top1 = float(np.mean(onnx_logits[:n].argmax(-1) == torch_logits[:n].argmax(-1)))
    pairs = zip(onnx_tokens, torch_tokens, strict=False)
    same_prefix = next((i for i, (a, b) in enumerate(pairs) if a != b),
                       min(len(onnx_tokens), len(torch_tokens)))
    report = {
        "prompt_tokens": len(prompt),
        "continuation_tokens": len(torch_tokens),
        "max_abs_logit_diff": round(float(np.abs(onnx_logits - torch_logits).max()), 6),
        "top1_agreement": round(top1, 4),
        "greedy_identical_tokens": same_prefix,
        "greedy_identical": onnx_tokens == torch_tokens,
    }
    exact = precision != "fp32" or report["greedy_identical"]
    report["passed"] = exact and top1 >= MIN_TOP1_AGREEMENT[precision]
    return report
