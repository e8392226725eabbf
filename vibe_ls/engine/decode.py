"""The decode loop over the optimum text-generation-with-past I/O contract.

Inputs: input_ids, attention_mask, position_ids, past_key_values.{i}.key/value
([batch, kv_heads, past, head_dim]); outputs: logits, present.{i}.key/value.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnxruntime as ort

_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


class Decoder:
    """One model's forward step, with its KV cache held as numpy arrays between steps."""

    def __init__(self, session: ort.InferenceSession) -> None:
        self.session = session
        inputs = {i.name: i for i in session.get_inputs()}
        self.past_names = [n for n in inputs if n.startswith("past_key_values.")]
        self.present_names = [n.replace("past_key_values.", "present.") for n in self.past_names]
        first = inputs[self.past_names[0]]
        self.kv_dtype = _DTYPES[first.type]
        self.kv_heads, self.head_dim = first.shape[1], first.shape[3]
        self.has_position_ids = "position_ids" in inputs

    def empty_cache(self) -> list[np.ndarray]:
        shape = (1, self.kv_heads, 0, self.head_dim)
        return [np.zeros(shape, self.kv_dtype) for _ in self.past_names]

    def forward(self, ids: Sequence[int], cache: list[np.ndarray]) -> tuple[np.ndarray, list]:
        """Logits [len(ids), vocab] (float32) for `ids` following the cached tokens."""
        past = cache[0].shape[2]
        total = past + len(ids)
        feed = {
            "input_ids": np.asarray([ids], np.int64),
            "attention_mask": np.ones((1, total), np.int64),
            **dict(zip(self.past_names, cache, strict=False)),
        }
        if self.has_position_ids:
            feed["position_ids"] = np.arange(past, total, dtype=np.int64)[None, :]
        logits, *present = self.session.run(["logits", *self.present_names], feed)
        return logits[0].astype(np.float32), present


def greedy(decoder: Decoder, prompt: Sequence[int], max_new_tokens: int,
           eos_ids: Sequence[int] = ()) -> list[int]:
    """Greedy continuation of `prompt`: argmax each step, stop at EOS or the token limit."""
    logits, cache = decoder.forward(prompt, decoder.empty_cache())  # prefill the prompt
    out: list[int] = []
    while len(out) < max_new_tokens:
        token = int(np.argmax(logits[-1]))  # most likely next token
        out.append(token)
        if token in eos_ids:
            break
        logits, cache = decoder.forward([token], cache)  # one step, reusing the KV cache
    return out
