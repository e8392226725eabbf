"""The forward step over the optimum text-generation-with-past I/O contract.

Inputs: input_ids, attention_mask, position_ids, past_key_values.{i}.key/value
([batch, kv_heads, past, head_dim]), and `logits_to_keep` when the export added it;
outputs: logits, present.{i}.key/value. The KV cache is a list of numpy arrays (CPU) that
can be sliced back to any length, which prefix reuse and speculation rely on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnxruntime as ort

from vibe_ls.adapters import is_lora_input

_DTYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}

KVCache = list[np.ndarray]


def cache_length(cache: KVCache) -> int:
    return cache[0].shape[2]


def truncate(cache: KVCache, length: int) -> KVCache:
    """The cache of the first `length` tokens (views, no copy)."""
    return [kv[:, :, :length] for kv in cache]


def kv_layout(session: ort.InferenceSession) -> tuple[list[str], list[str], type, int, int]:
    """An exported graph's past KV inputs, the present outputs that answer them, their
    dtype, KV heads and head size."""
    inputs = {i.name: i for i in session.get_inputs()}
    past = [n for n in inputs if n.startswith("past_key_values.")]
    first = inputs[past[0]]
    return (past, [n.replace("past_key_values.", "present.") for n in past],
            _DTYPES[first.type], first.shape[1], first.shape[3])


class Decoder:
    """One model's forward step; stateless, so one decoder serves every request in turn."""

    can_truncate = True  # numpy caches slice for free: prefix reuse and speculation work

    def __init__(self, session: ort.InferenceSession) -> None:
        self.session = session
        inputs = {i.name: i for i in session.get_inputs()}
        (self.past_names, self.present_names, self.kv_dtype, self.kv_heads,
         self.head_dim) = kv_layout(session)
        self.has_position_ids = "position_ids" in inputs
        self.has_logits_to_keep = "logits_to_keep" in inputs
        self.has_next_token = any(o.name == "next_token" for o in session.get_outputs())
        self.layers = len(self.past_names) // 2
        # LoRA inputs of the graph (name -> shape) and the active adapter's tensors for
        # them, fed with every run; none fed: the branches add zeros (the base model).
        self.lora_inputs = {i.name: i.shape for i in session.get_overridable_initializers()
                            if is_lora_input(i.name)}
        self.adapter_feeds: dict[str, np.ndarray] = {}

    def set_adapter_feeds(self, feeds: dict[str, np.ndarray]) -> None:
        """Feed these LoRA tensors with every run from now on (empty: the base model)."""
        self.adapter_feeds = {n: np.ascontiguousarray(v.astype(self.kv_dtype, copy=False))
                              for n, v in feeds.items()}

    def empty_cache(self) -> KVCache:
        shape = (1, self.kv_heads, 0, self.head_dim)
        return [np.zeros(shape, self.kv_dtype) for _ in self.past_names]

    def to_host(self, cache: KVCache) -> KVCache:
        """`cache` as numpy arrays, to pad, join or drop rows of a batch (already are here)."""
        return cache

    def to_device(self, cache: KVCache) -> KVCache:
        """A numpy cache where this decoder keeps its caches (here: as it is)."""
        return cache

    def forward_rows(self, tokens: Sequence[int], mask: np.ndarray,
                     cache: KVCache) -> tuple[np.ndarray, KVCache]:
        """One step for a batch of rows, one new token each. `mask` [rows, past + 1] marks
        each row's real positions (rows of different lengths are left-padded with zeros), the
        new token included; returns the new tokens' logits [rows, vocab] (float32)."""
        feed = {**self._row_inputs(tokens, mask), **self.adapter_feeds,
                **{n: np.ascontiguousarray(kv)
                   for n, kv in zip(self.past_names, cache, strict=True)}}
        logits, *present = self.session.run(["logits", *self.present_names], feed)
        return logits[:, -1].astype(np.float32, copy=False), present

    def _row_inputs(self, tokens: Sequence[int], mask: np.ndarray) -> dict[str, np.ndarray]:
        feed = {"input_ids": np.asarray(tokens, np.int64)[:, None],
                "attention_mask": np.ascontiguousarray(mask, np.int64)}
        if self.has_position_ids:
            feed["position_ids"] = (mask.sum(axis=1) - 1)[:, None].astype(np.int64)
        if self.has_logits_to_keep:
            feed["logits_to_keep"] = np.asarray(1, np.int64)
        return feed

    def forward(self, ids: Sequence[int], cache: KVCache,
                keep: int | None = None) -> tuple[np.ndarray, KVCache]:
        """Logits (float32) for the last `keep` of `ids` (all when None), following `cache`."""
        past = cache_length(cache)
        total = past + len(ids)
        feed = {
            "input_ids": np.asarray([ids], np.int64),
            "attention_mask": np.ones((1, total), np.int64),
            **self.adapter_feeds,
            **{n: np.ascontiguousarray(kv) for n, kv in zip(self.past_names, cache, strict=True)},
        }
        if self.has_position_ids:
            feed["position_ids"] = np.arange(past, total, dtype=np.int64)[None, :]
        if self.has_logits_to_keep:
            feed["logits_to_keep"] = np.asarray(keep or len(ids), np.int64)
        logits, *present = self.session.run(["logits", *self.present_names], feed)
        logits = logits[0]
        if keep is not None:
            logits = logits[-keep:]
        return logits.astype(np.float32, copy=False), present


def left_pad(caches: list[KVCache]) -> tuple[KVCache, np.ndarray]:
    """Batch rows' caches of different lengths: each padded on the left to the longest, and
    the attention mask that hides the padding."""
    lengths = [cache_length(c) for c in caches]
    width = max(lengths)
    mask = np.zeros((len(caches), width), np.int64)
    for row, length in enumerate(lengths):
        mask[row, width - length:] = 1
    batched = []
    for layer in range(len(caches[0])):
        parts = []
        for cache, length in zip(caches, lengths, strict=True):
            kv = cache[layer]
            if length < width:
                pad = np.zeros((*kv.shape[:2], width - length, kv.shape[3]), kv.dtype)
                kv = np.concatenate([pad, kv], axis=2)
            parts.append(kv)
        batched.append(np.concatenate(parts, axis=0))
    return batched, mask


def join_rows(cache: KVCache, mask: np.ndarray, extra: KVCache) -> tuple[KVCache, np.ndarray]:
    """A batch's cache and mask with one more row (`extra`, a single row's cache) below: the
    shorter side is padded on the left, and the mask hides the padding."""
    width, length = mask.shape[1], cache_length(extra)
    full = max(width, length)

    def pad(kv: np.ndarray, n: int) -> np.ndarray:
        if n == 0:
            return kv
        return np.concatenate([np.zeros((*kv.shape[:2], n, kv.shape[3]), kv.dtype), kv], axis=2)
    row = np.zeros((1, full), np.int64)
    row[0, full - length:] = 1
    mask = np.concatenate([np.pad(mask, ((0, 0), (full - width, 0))), row])
    return [np.concatenate([pad(kv, full - width), pad(e.astype(kv.dtype, copy=False),
                                                          full - length)])
            for kv, e in zip(cache, extra, strict=True)], mask


def next_greedy(decoder: Decoder, ids: Sequence[int], cache: KVCache) -> tuple[int, KVCache]:
    """Run `ids` and return the argmax token after them (on the device when it can)."""
    if isinstance(decoder, BoundDecoder) and decoder.has_next_token:
        return decoder.forward_argmax(ids, cache)
    logits, cache = decoder.forward(ids, cache, keep=1)
    return int(np.argmax(logits[-1])), cache


def greedy(decoder: Decoder, prompt: Sequence[int], max_new_tokens: int,
           eos_ids: Sequence[int] = ()) -> list[int]:
    """Greedy continuation of `prompt`: argmax each step, stop at EOS or the token limit."""
    logits, cache = decoder.forward(prompt, decoder.empty_cache(), keep=1)  # prefill
    out: list[int] = []
    while len(out) < max_new_tokens:
        token = int(np.argmax(logits[-1]))  # most likely next token
        out.append(token)
        if token in eos_ids:
            break
        logits, cache = decoder.forward([token], cache, keep=1)  # one step on the KV cache
    return out


class BoundDecoder(Decoder):
    """A decoder whose KV cache stays on the execution device (IOBinding): on CUDA no KV is
    copied to or from the host between steps; only ids go in and the kept logits come out.
    Its cache cannot be sliced in place, so prefix reuse and speculation are off; a batch's
    rows are padded, joined and dropped on the host (a round trip when a row joins or ends,
    not per step)."""

    can_truncate = False

    def __init__(self, session: ort.InferenceSession, device: str = "cuda",
                 device_id: int = 0) -> None:
        super().__init__(session)
        self.device, self.device_id = device, device_id

    def set_adapter_feeds(self, feeds: dict[str, np.ndarray]) -> None:
        """IOBinding ignores onnxruntime's active adapters: the tensors are bound as inputs,
        copied to the device once here."""
        super().set_adapter_feeds(feeds)
        self.adapter_feeds = {n: ort.OrtValue.ortvalue_from_numpy(v, self.device, self.device_id)
                              for n, v in self.adapter_feeds.items()}

    def _bind_adapter(self, binding) -> None:
        for name, value in self.adapter_feeds.items():
            binding.bind_ortvalue_input(name, value)

    def empty_cache(self) -> list[ort.OrtValue]:
        return self.to_device(super().empty_cache())

    def to_host(self, cache: list[ort.OrtValue]) -> KVCache:
        return [kv.numpy() for kv in cache]

    def to_device(self, cache: KVCache) -> list[ort.OrtValue]:
        return [ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(kv), self.device,
                                                 self.device_id) for kv in cache]

    def forward_rows(self, tokens: Sequence[int], mask: np.ndarray,
                     cache: list[ort.OrtValue]) -> tuple[np.ndarray, list[ort.OrtValue]]:
        """A batch's step with its cache on the device: ids and mask go in, the rows' last
        logits come out (to sample from), the cache stays."""
        binding = self.session.io_binding()
        for name, value in self._row_inputs(tokens, mask).items():
            binding.bind_cpu_input(name, value)
        self._bind_adapter(binding)
        for name, value in zip(self.past_names, cache, strict=True):
            binding.bind_ortvalue_input(name, value)
        for name in self.present_names:
            binding.bind_output(name, self.device, self.device_id)
        binding.bind_output("logits", "cpu")
        self.session.run_with_iobinding(binding)
        *present, logits = binding.get_outputs()  # in the order they were bound
        return logits.numpy()[:, -1].astype(np.float32, copy=False), present

    def _bind(self, ids: Sequence[int], cache: list[ort.OrtValue], keep: int | None):
        past = cache[0].shape()[2]
        total = past + len(ids)
        binding = self.session.io_binding()
        binding.bind_cpu_input("input_ids", np.asarray([ids], np.int64))
        binding.bind_cpu_input("attention_mask", np.ones((1, total), np.int64))
        if self.has_position_ids:
            binding.bind_cpu_input("position_ids",
                                   np.arange(past, total, dtype=np.int64)[None, :])
        if self.has_logits_to_keep:
            binding.bind_cpu_input("logits_to_keep", np.asarray(keep or len(ids), np.int64))
        self._bind_adapter(binding)
        for name, value in zip(self.past_names, cache, strict=True):
            binding.bind_ortvalue_input(name, value)
        for name in self.present_names:
            binding.bind_output(name, self.device, self.device_id)
        return binding

    def forward(self, ids: Sequence[int], cache: list[ort.OrtValue],
                keep: int | None = None) -> tuple[np.ndarray, list[ort.OrtValue]]:
        binding = self._bind(ids, cache, keep)
        binding.bind_output("logits", "cpu")  # the kept rows, for sampling
        self.session.run_with_iobinding(binding)
        *present, logits = binding.get_outputs()  # in the order they were bound
        rows = logits.numpy()[0]
        if keep is not None:
            rows = rows[-keep:]
        return rows.astype(np.float32, copy=False), present

    def forward_argmax(self, ids: Sequence[int], cache: list[ort.OrtValue],
                       ) -> tuple[int, list[ort.OrtValue]]:
        """Greedy step whose logits never leave the device: only the token id comes back."""
        binding = self._bind(ids, cache, 1)
        binding.bind_output("logits", self.device, self.device_id)
        binding.bind_output("next_token", "cpu")
        self.session.run_with_iobinding(binding)
        *present, _logits, token = binding.get_outputs()  # in the order they were bound
        return int(token.numpy().reshape(-1)[-1]), present
