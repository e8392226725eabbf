"""`Engine`: a loaded model directory, ready to generate. One generation runs at a time;
concurrent callers wait their turn on a lock, in the order they arrive."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from vibe_ls.adapters import Adapter, load_adapter
from vibe_ls.engine.chat import ChatFormat
from vibe_ls.engine.decode import BoundDecoder, Decoder
from vibe_ls.engine.generate import Generation, OnRow, OnText, Request, Result, run_rows
from vibe_ls.engine.prefix import PrefixCache
from vibe_ls.engine.providers import open_session
from vibe_ls.errors import VibeError
from vibe_ls.home import resolve_model
from vibe_ls.manifest import read_manifest, verify

log = logging.getLogger(__name__)


class Engine:
    def __init__(self, model: str | Path, device: str = "auto", threads: int | None = None,
                 check: bool = True) -> None:
        start = time.monotonic()
        self.model_dir = resolve_model(model)
        self.manifest = read_manifest(self.model_dir)
        problems = verify(self.model_dir, self.manifest) if check else []
        if problems:
            raise VibeError(f"model {self.model_dir} is damaged: {problems[0]}",
                            "run `vibe-ls setup` to rebuild it")
        static = self.manifest.attention == "gqa"
        opened = open_session(self.model_dir / self.manifest.model_file, device, threads,
                              cuda_graphs=static)
        self.provider, self.fallback_reason = opened.provider, opened.fallback_reason
        # On CUDA the KV cache stays in GPU memory between steps.
        self.decoder = (BoundDecoder(opened.session, "cuda") if self.provider == "cuda"
                        else Decoder(opened.session)) if not static else None
        self._generation, self._rows = Generation, run_rows
        if static:  # one static KV buffer, steps replayed as CUDA graphs there
            from vibe_ls.engine import static_loop

            self.decoder, self._generation, self._rows = static_loop.parts(
                opened, self.manifest.context)
        self.chat = ChatFormat(self.model_dir)
        self.eos_ids = frozenset(self.manifest.eos_token_ids)
        self.prefixes = PrefixCache()
        self._lock = threading.Lock()
        self.adapter: Adapter | None = None  # the active LoRA adapter (None: the base model)
        self._adapters: dict[Path, Adapter] = {}  # loaded once each, switched by feeding
        self._prefixes: dict[Path | None, PrefixCache] = {None: self.prefixes}
        self.load_s = time.monotonic() - start
        log.info("loaded %s on %s in %.1f s", self.name, self.provider, self.load_s)

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def installed_as(self) -> str:
        """The model directory's name: what `--model` names, and where its adapters live
        ($VIBE_LS_HOME/adapters/<it>/). Two exports of one model (int4 and fp32) share the
        manifest's name but not their adapters: each is made for its own graph."""
        return self.model_dir.name

    def use_adapter(self, directory: Path | None) -> Adapter | None:
        """Make the adapter in `directory` (None: none) active for the next generations,
        without reloading the base model; waits for a running generation. A VibeError says
        why an adapter does not fit, and the model stays as it was."""
        if directory is not None and not hasattr(self.decoder, "set_adapter_feeds"):
            raise VibeError(f"{self.name} runs on a static KV buffer (--attention gqa), "
                            "which takes no LoRA adapter yet", "use an mha export of it")
        if directory is not None and directory not in self._adapters:
            self._adapters[directory] = load_adapter(directory, self.manifest,
                                                     self.decoder.lora_inputs)
        adapter = self._adapters.get(directory) if directory is not None else None
        with self._lock:
            if adapter is not self.adapter:
                self.decoder.set_adapter_feeds(adapter.feeds if adapter else {})
                # cached KV came from the weights it was computed with: one cache each
                self.prefixes = self._prefixes.setdefault(directory, PrefixCache())
                self.adapter = adapter
        return adapter

    def encode_chat(self, messages: list[dict[str, str]]) -> list[int]:
        return self.chat.encode(self.chat.render(messages))

    def generate(self, request: Request, on_text: OnText | None = None,
                 cancel: threading.Event | None = None, counted: int = 0) -> Result:
        """Run `request` to completion, cancellation or a stop; thread-safe (queued).
        `counted`: tokens streamed before it (it goes on for another answer)."""
        if not request.prompt:
            raise VibeError("empty prompt")
        with self._lock:
            return self._generation(self, request, on_text, cancel, counted).run()

    def generate_many(self, requests: list[Request], on_text: OnText | None = None,
                      cancel: threading.Event | None = None,
                      on_row: OnRow | None = None) -> list[Result]:
        """Run several requests, decoded together; `on_text` streams the first; `on_row`
        hears of each as it finishes and may drop the rest or add one (see `OnRow`).
        Thread-safe (queued, like `generate`)."""
        if any(not r.prompt for r in requests):
            raise VibeError("empty prompt")
        if len(requests) == 1:
            queue, results = list(requests), []
            streamed = {0: 0}  # rows that stream: the first, and rows going on for it
            while len(results) < len(queue):
                i = len(results)
                results.append(self.generate(queue[i], on_text if i in streamed else None,
                                             cancel, streamed.get(i, 0)))
                said = on_row(i, results[-1]) if on_row else None
                if said is True:
                    return results + [Result("", [], "dropped", len(r.prompt), 0, 0.0, 0.0)
                                      for r in queue[i + 1:]]
                if isinstance(said, Request):
                    queue.append(said)
                    if i in streamed:
                        streamed[len(queue) - 1] = streamed[i] + len(results[-1].tokens)
            return results
        with self._lock:
            return self._rows(self, requests, on_text, cancel, on_row)
