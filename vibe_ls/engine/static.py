"""The forward step over a GroupQueryAttention graph with one static KV buffer (made by
`vibe-ls export --attention gqa`): every row of a batch owns a row of the buffer, of the
model's full context length, and each step writes its new KV in place there.

Inputs: input_ids, seqlens_k (int32 [rows], each row's length after the step - 1),
total_sequence_length (int32 scalar, on the host), logits_to_keep, past_key_values.{i}.*
([rows, kv_heads, max_length, head_dim], the same memory as present.{i}.*); outputs: logits,
next_token (the argmax), present.{i}.*. Rows of a batch keep their own lengths: nothing is
padded, nothing moves when a row joins or ends but that row's KV.

Everything is bound by address (IOBinding): on CUDA the buffers live in GPU memory, the
single-token step of each batch size is captured once as a CUDA graph and replayed, and only
the sampled token ids come back to the host; prefill is not captured. On the CPU the same
loop runs on numpy buffers without graphs. A row's KV is a `Span` (its row and length), so
cutting it back (speculation) is free, and a cached prompt prefix is a copy of positions
(within the buffer, or from a compact stash) instead of a prefill.
"""

from __future__ import annotations

import ctypes
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import onnxruntime as ort

from vibe_ls.engine.decode import _DTYPES, kv_layout

DEFAULT_CONTEXT = 4096  # positions per row unless the manifest or the caller says otherwise
STASH = 4  # cached prompt prefixes kept beside the rows (compact copies)


def is_static(session: ort.InferenceSession) -> bool:
    """Whether `session` is a GQA graph with a static KV buffer."""
    return any(i.name == "seqlens_k" for i in session.get_inputs())


@dataclass(frozen=True)
class Span:
    """A row's KV in the static buffer: its first `length` positions are valid."""

    row: int
    length: int


class Memory:
    """Plain memory the buffers live in, and copies between addresses in it: host memory
    (numpy) on the CPU, GPU memory (OrtValue) on CUDA with the CUDA runtime's memcpy."""

    def __init__(self, device: str, device_id: int = 0) -> None:
        self.device, self.device_id = device, device_id
        self._memcpy = self._sync = None
        if device == "cuda":
            cudart = _cudart()
            self._memcpy, self._sync = cudart.cudaMemcpy, cudart.cudaDeviceSynchronize
            self._memcpy.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t,
                                     ctypes.c_int]

    def empty(self, shape: tuple[int, ...], dtype) -> tuple[object, int]:
        """A new buffer and its address (zeroed on the host; unset on the device)."""
        if self.device == "cpu":
            array = np.zeros(shape, dtype)
            return array, array.ctypes.data
        value = ort.OrtValue.ortvalue_from_shape_and_type(list(shape), dtype, self.device,
                                                          self.device_id)
        return value, value.data_ptr()

    def copy(self, dst: int, src: int, nbytes: int) -> None:
        if nbytes <= 0:
            return
        if self._memcpy is None:
            ctypes.memmove(dst, src, nbytes)
            return
        if self._memcpy(dst, src, nbytes, 4) != 0:  # cudaMemcpyDefault: any direction
            raise RuntimeError("cudaMemcpy failed")
        # A copy to the device (from pageable memory, or within it) may still be in flight
        # when cudaMemcpy returns, and onnxruntime's stream does not wait for the default one.
        self._sync()


def _cudart():
    """The CUDA runtime onnxruntime's CUDA provider loaded (or the system's)."""
    for name in ("libcudart.so.13", "libcudart.so.12", "libcudart.so"):
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    raise RuntimeError("the CUDA runtime library (libcudart) could not be loaded")


class StaticDecoder:
    """One model's forward step on a static KV buffer; one generation (or batch) at a time
    owns the rows, as the engine's lock ensures."""

    can_truncate = True  # a shorter Span is the same KV cut back

    def __init__(self, session: ort.InferenceSession, device: str = "cpu",
                 device_id: int = 0, context: int = DEFAULT_CONTEXT,
                 cuda_graphs: bool = False) -> None:
        self.session, self.device = session, device
        (self.past_names, self.present_names, self.kv_dtype, self.kv_heads,
         self.head_dim) = kv_layout(session)
        self.logits_dtype = _DTYPES[next(o.type for o in session.get_outputs()
                                         if o.name == "logits")]
        self.vocab = _vocab(session)
        self.context = context
        self.has_next_token = True
        self.cuda_graphs = cuda_graphs and device == "cuda"
        self.memory = Memory(device, device_id)
        self.rows = 0
        self.kv: list[tuple[object, int]] = []  # per past name: [rows, kv, context, d]
        self.held: list[list[int]] = []  # the tokens whose KV each row holds
        self.stash: OrderedDict[tuple[int, ...], list[tuple[object, int]]] = OrderedDict()
        self.pending: dict[int, tuple[int, ...]] = {}  # row -> a prompt to stash if overwritten
        self.graphs: dict[int, int] = {}  # batch size -> gpu_graph_id
        self._step_io: dict[str, tuple[object, int]] = {}
        # batch size -> the step's binding and run options: the same addresses every step, so
        # they are bound once (binding 50 tensors costs ~0.5 ms of Python a step)
        self._steps: dict[int, tuple[ort.IOBinding, ort.RunOptions | None, list]] = {}

    # -- the buffer ---------------------------------------------------------------------

    def reserve(self, rows: int) -> None:
        """At least `rows` rows in the buffer (a larger buffer moves: graphs are recaptured)."""
        if rows <= self.rows:
            return
        old, old_rows = self.kv, self.rows
        self.kv = [self.memory.empty((rows, self.kv_heads, self.context, self.head_dim),
                                     self.kv_dtype) for _ in self.past_names]
        head = self._head_bytes(self.context)
        for (_, src), (_, dst) in zip(old, self.kv, strict=False):
            for r in range(old_rows):  # only what rows hold: untouched pages stay unmapped
                n = self._head_bytes(len(self.held[r]))
                for h in range(self.kv_heads):
                    offset = (r * self.kv_heads + h) * head
                    self.memory.copy(dst + offset, src + offset, n)
        self.held += [[] for _ in range(rows - old_rows)]
        self.rows = rows
        self._step_io = {
            "input_ids": self.memory.empty((rows, 1), np.int64),
            "seqlens_k": self.memory.empty((rows,), np.int32),
            "logits": self.memory.empty((rows, 1, self.vocab), self.logits_dtype),
            "next_token": self.memory.empty((rows, 1), np.int64),
        }
        self.graphs = {}  # new addresses: the old graphs would write into freed memory
        self._steps = {}

    @property
    def _row_bytes(self) -> int:
        return self.kv_heads * self.context * self.head_dim * np.dtype(self.kv_dtype).itemsize

    def _head_bytes(self, positions: int) -> int:
        return positions * self.head_dim * np.dtype(self.kv_dtype).itemsize

    def copy_row(self, src: int, dst: int, length: int) -> None:
        """Row `dst` holds row `src`'s first `length` positions (a copy within the buffer)."""
        self._keep_pending(dst, self.held[src][:length])
        if src == dst or length == 0:
            self.held[dst] = list(self.held[src][:length])
            return
        head, n = self._head_bytes(self.context), self._head_bytes(length)
        for _, base in self.kv:
            for h in range(self.kv_heads):
                self.memory.copy(base + (dst * self.kv_heads + h) * head,
                                 base + (src * self.kv_heads + h) * head, n)
        self.held[dst] = list(self.held[src][:length])

    def empty_cache(self, row: int = 0) -> Span:
        self.reserve(row + 1)
        self._keep_pending(row, [])
        self.held[row] = []
        return Span(row, 0)

    # -- prompt prefixes ------------------------------------------------------------------

    def reuse(self, prompt: list[int], row: int = 0) -> Span:
        """Row `row` holding the longest known prefix of `prompt` (at least one prompt token
        is left to prefill: its logits choose the first new token). What the row already
        holds costs nothing; a prefix another row or the stash holds is copied in."""
        self.reserve(row + 1)
        self._keep_pending(row, prompt)
        limit = len(prompt) - 1
        held = min(_common(self.held[row], prompt), limit)
        best, best_len = None, held
        for key in self.stash:
            n = min(_common(list(key), prompt), limit)
            if n > best_len:
                best, best_len = key, n
        other, other_len = None, best_len  # another row of the buffer holding more of it
        for r in range(self.rows):
            n = min(_common(self.held[r], prompt), limit)
            if r != row and n > other_len:
                other, other_len = r, n
        if other is not None:
            self.copy_row(other, row, other_len)
            return Span(row, other_len)
        if best is not None:
            self.stash.move_to_end(best)
            self._unstash(self.stash[best], len(best), row, best_len)
            self.held[row] = list(best[:best_len])
        self.held[row] = self.held[row][:best_len]
        return Span(row, best_len)

    def remember(self, prompt: list[int], span: Span) -> None:
        """The prompt's KV in `span` is worth keeping: it is stashed (a compact copy) when a
        prompt that does not continue it is about to overwrite the row, not before (most
        requests share their system prompt with the last one: then nothing is copied)."""
        self.pending[span.row] = tuple(prompt[: span.length])

    def forget(self) -> None:
        """No prompt prefix is known any more (the buffer keeps its memory)."""
        self.held = [[] for _ in self.held]
        self.pending.clear()
        self.stash.clear()

    def _keep_pending(self, row: int, incoming: Sequence[int]) -> None:
        """Before `incoming` is written to `row`: stash the row's pending prompt unless
        `incoming` continues it."""
        key = self.pending.get(row)
        if key is None or _common(key, incoming) >= len(key):
            return
        del self.pending[row]
        if key in self.stash or _common(self.held[row], key) < len(key):
            return
        n = len(key)
        copies = [self.memory.empty((self.kv_heads, n, self.head_dim), self.kv_dtype)
                  for _ in self.kv]
        head, size = self._head_bytes(self.context), self._head_bytes(n)
        for (_, base), (_, dst) in zip(self.kv, copies, strict=True):
            for h in range(self.kv_heads):
                self.memory.copy(dst + h * size, base + (row * self.kv_heads + h) * head, size)
        self.stash[key] = copies
        while len(self.stash) > STASH:
            self.stash.popitem(last=False)

    def _unstash(self, copies, stored: int, row: int, length: int) -> None:
        head, size, n = self._head_bytes(self.context), self._head_bytes(stored), \
            self._head_bytes(length)
        for (_, base), (_, src) in zip(self.kv, copies, strict=True):
            for h in range(self.kv_heads):
                self.memory.copy(base + (row * self.kv_heads + h) * head, src + h * size, n)

    # -- running the graph ----------------------------------------------------------------

    def _bind_kv(self, binding: ort.IOBinding, first_row: int, rows: int) -> None:
        shape = [rows, self.kv_heads, self.context, self.head_dim]
        for (_, base), past, present in zip(self.kv, self.past_names, self.present_names,
                                            strict=True):
            address = base + first_row * self._row_bytes
            binding.bind_input(past, self.device, 0, self.kv_dtype, shape, address)
            binding.bind_output(present, self.device, 0, self.kv_dtype, shape, address)

    def forward(self, ids: Sequence[int], span: Span,
                keep: int | None = None) -> tuple[np.ndarray, Span]:
        """Logits (float32) for the last `keep` of `ids` (all when None), written after
        `span` in its row (one row; prefill and verification, never captured)."""
        if span.length + len(ids) > self.context:
            raise ContextFull(self.context)
        total = span.length + len(ids)
        binding = self.session.io_binding()
        for name, value in (("input_ids", np.asarray([ids], np.int64)),
                            ("seqlens_k", np.asarray([total - 1], np.int32))):
            if self.device == "cpu":
                binding.bind_cpu_input(name, value)
            else:  # on the device, as in the captured steps: no input is copied in the run
                binding.bind_ortvalue_input(name, ort.OrtValue.ortvalue_from_numpy(
                    value, self.device, 0))
        binding.bind_cpu_input("total_sequence_length", np.asarray(total, np.int32))
        binding.bind_cpu_input("logits_to_keep", np.asarray(keep or len(ids), np.int64))
        self._bind_kv(binding, span.row, 1)
        binding.bind_output("logits", "cpu")
        self.session.run_with_iobinding(binding, self._run_options(None))
        logits = binding.get_outputs()[-1].numpy()[0]
        self._hold(span, ids)
        return logits.astype(np.float32, copy=False), Span(span.row, total)

    def step(self, tokens: Sequence[int], spans: Sequence[Span],
             want_logits: bool) -> tuple[np.ndarray, np.ndarray | None, list[Span]]:
        """One token for each of rows 0..n-1 (`spans[i].row == i`): the device's argmax for
        each row, the logits [n, vocab] (float32) when asked for, and the longer spans. The
        binding is the same for every step of a batch size: on CUDA it replays a graph."""
        n = len(tokens)
        if any(s.length + 1 > self.context for s in spans):
            raise ContextFull(self.context)
        ids = np.asarray(tokens, np.int64).reshape(n, 1)
        seqlens = np.asarray([s.length for s in spans], np.int32)  # new length - 1
        self._write("input_ids", ids)
        self._write("seqlens_k", seqlens)
        if n not in self._steps:
            self._steps[n] = self._step_binding(n)
        binding, options, _ = self._steps[n]
        self.session.run_with_iobinding(binding, options)
        chosen = self._read("next_token", (n, 1), np.int64).reshape(n)
        logits = (self._read("logits", (n, 1, self.vocab), self.logits_dtype)[:, 0]
                  .astype(np.float32, copy=False) if want_logits else None)
        for span, token in zip(spans, tokens, strict=True):
            self._hold(span, [int(token)])
        return chosen, logits, [Span(s.row, s.length + 1) for s in spans]

    def _hold(self, span: Span, ids: Sequence[int]) -> None:
        held = self.held[span.row]
        del held[span.length:]
        held.extend(ids)

    def _step_binding(self, n: int) -> tuple[ort.IOBinding, ort.RunOptions | None, list]:
        binding = self.session.io_binding()
        for name, shape, dtype in (("input_ids", [n, 1], np.int64),
                                   ("seqlens_k", [n], np.int32)):
            binding.bind_input(name, self.device, 0, dtype, shape, self._step_io[name][1])
        # the op reads it on the host: fixed at the buffer's length, so a captured step
        # stays valid while the rows grow (seqlens_k says where each row is)
        host = [np.asarray(self.context, np.int32), np.asarray(1, np.int64)]
        binding.bind_cpu_input("total_sequence_length", host[0])
        binding.bind_cpu_input("logits_to_keep", host[1])
        self._bind_kv(binding, 0, n)
        binding.bind_output("logits", self.device, 0, self.logits_dtype, [n, 1, self.vocab],
                            self._step_io["logits"][1])
        binding.bind_output("next_token", self.device, 0, np.int64, [n, 1],
                            self._step_io["next_token"][1])
        return binding, self._run_options(n), host  # the host arrays live as long

    def _run_options(self, batch: int | None) -> ort.RunOptions | None:
        if not self.cuda_graphs:
            return None
        options = ort.RunOptions()
        if batch is None:  # prefill: shapes vary, never captured
            options.add_run_config_entry("gpu_graph_id", "-1")
        else:
            graph = self.graphs.setdefault(batch, len(self.graphs) + 1 + 100 * self.rows)
            options.add_run_config_entry("gpu_graph_id", str(graph))
        return options

    def _write(self, name: str, values: np.ndarray) -> None:
        values = np.ascontiguousarray(values)
        self.memory.copy(self._step_io[name][1], values.ctypes.data, values.nbytes)

    def _read(self, name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        out = np.empty(shape, dtype)
        self.memory.copy(out.ctypes.data, self._step_io[name][1], out.nbytes)
        return out


class ContextFull(RuntimeError):
    def __init__(self, context: int) -> None:
        super().__init__(f"the prompt and answer need more than the {context} positions of "
                         "the model's KV buffer")


def _common(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def _vocab(session: ort.InferenceSession) -> int:
    logits = next(o for o in session.get_outputs() if o.name == "logits")
    size = logits.shape[-1]
    if not isinstance(size, int):
        raise RuntimeError("the graph's logits have no fixed vocabulary size")
    return size
