"""The engine on the tiny exported model: exactness against transformers, cancellation,
prefix reuse, sampling, stops, the reasoning budget, speculation and provider fallback."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from vibe_ls.engine import Engine, Request, Sampling, providers
from vibe_ls.engine.generate import Lines
from vibe_ls.engine.speculate import propose

SYSTEM = {"role": "system", "content": "You are an algorithm engineer. Show reasoning, then "
                                       "clean code with complexity."}


def ask(text: str) -> list[dict[str, str]]:
    return [SYSTEM, {"role": "user", "content": text}]


@pytest.fixture(scope="module", params=["optimum graph", "GQA graph"])
def engine(request: pytest.FixtureRequest, tiny_fp32: Path) -> Engine:
    """The same tiny model as optimum exports it, and rewritten to GroupQueryAttention on a
    static KV buffer (engine/static.py): every engine test runs on both."""
    if request.param == "GQA graph":
        return Engine(request.getfixturevalue("tiny_gqa"), device="cpu")
    return Engine(tiny_fp32, device="cpu")


@pytest.fixture(scope="module", params=["numpy caches", "caches on the device", "static buffer"])
def batching(request: pytest.FixtureRequest, tiny_fp32: Path) -> Engine:
    """An engine for the batch tests: with numpy caches (CPU), with the IOBinding decoder
    used on CUDA (its OrtValues here on the CPU), whose batches pad, join and drop rows on
    the host, and the GQA graph's static buffer, where each row owns a row of it."""
    from vibe_ls.engine.decode import BoundDecoder

    if request.param == "static buffer":
        return Engine(request.getfixturevalue("tiny_gqa"), device="cpu")
    engine = Engine(tiny_fp32, device="cpu")
    if request.param == "caches on the device":
        engine.decoder = BoundDecoder(engine.decoder.session, device="cpu")
    return engine


def _torch_greedy(checkpoint: Path, ids: list[int], steps: int) -> list[int]:
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(checkpoint, dtype="float32").eval()
    with torch.inference_mode():
        out = model.generate(torch.tensor([ids]), max_new_tokens=steps, min_new_tokens=steps,
                             do_sample=False, pad_token_id=0, eos_token_id=None)
    return out[0, len(ids):].tolist()


def test_greedy_equals_transformers_generate(engine: Engine, tiny_checkpoint: Path) -> None:
    prompt = engine.encode_chat(ask("def binary_search(items, target):"))
    ours = engine.generate(Request(prompt, max_new_tokens=40))
    engine.eos_ids, saved = frozenset(), engine.eos_ids  # compare raw argmax streams
    try:
        raw = engine.generate(Request(prompt, max_new_tokens=40))
    finally:
        engine.eos_ids = saved
    assert raw.tokens == _torch_greedy(tiny_checkpoint, prompt, 40)
    assert ours.tokens == raw.tokens[: len(ours.tokens)]


def test_streamed_text_adds_up_to_the_result(engine: Engine) -> None:
    pieces: list[str] = []
    prompt = engine.encode_chat(ask("# TODO: 找出数组中三个数之和最接近目标值的组合"))
    result = engine.generate(Request(prompt, max_new_tokens=48),
                             on_text=lambda delta, _n: pieces.append(delta))
    assert "".join(pieces) == result.text


def test_stream_never_splits_a_character(engine: Engine) -> None:
    from vibe_ls.engine.chat import TextStream

    text = "# 计算最长回文子串的长度 ✓"
    ids = engine.chat.encode(text)
    # byte-level BPE: a character the tokenizer has not merged spans several tokens
    assert any("\ufffd" in engine.chat.decode([i]) for i in ids)
    stream = TextStream(engine.chat)
    pieces = [stream.push([i]) for i in ids]
    assert "".join(pieces) == text
    assert not any("\ufffd" in p for p in pieces)


def test_cancel_stops_within_one_token(engine: Engine) -> None:
    cancel = threading.Event()

    def on_text(_delta: str, generated: int) -> None:
        if generated >= 5:
            cancel.set()
    prompt = engine.encode_chat(ask("cancel me"))
    result = engine.generate(Request(prompt, max_new_tokens=200), on_text=on_text, cancel=cancel)
    assert result.finish_reason == "cancelled"
    assert 5 <= len(result.tokens) <= 6


def test_cancel_before_start_generates_nothing(engine: Engine) -> None:
    cancel = threading.Event()
    cancel.set()
    result = engine.generate(Request(engine.encode_chat(ask("x")), max_new_tokens=50),
                             cancel=cancel)
    assert (result.finish_reason, result.tokens) == ("cancelled", [])


@pytest.mark.parametrize("graph", ["tiny_fp32", "tiny_gqa"])
def test_prefix_reuse_gives_the_same_tokens_as_a_cold_run(graph: str,
                                                          request: pytest.FixtureRequest) -> None:
    tiny_fp32 = request.getfixturevalue(graph)
    warm = Engine(tiny_fp32, device="cpu")
    warm.generate(Request(warm.encode_chat(ask("first question")), max_new_tokens=8))
    prompt = warm.encode_chat(ask("second question, longer than the first"))
    reused = warm.generate(Request(prompt, max_new_tokens=32))
    cold = Engine(tiny_fp32, device="cpu").generate(Request(prompt, max_new_tokens=32))
    assert reused.cached_tokens > len(warm.chat.encode(SYSTEM["content"]))
    assert cold.cached_tokens == 0
    assert reused.tokens == cold.tokens


def test_sampling_is_reproducible_with_a_seed(engine: Engine) -> None:
    prompt = engine.encode_chat(ask("sample"))

    def run(seed: int, top_p: float = 0.95) -> list[int]:
        sampling = Sampling(temperature=1.0, top_p=top_p, seed=seed)
        return engine.generate(Request(prompt, max_new_tokens=24, sampling=sampling)).tokens
    assert run(1) == run(1)
    assert run(1) != run(2)
    greedy = engine.generate(Request(prompt, max_new_tokens=24)).tokens
    assert run(3, top_p=1e-9) == greedy  # a nucleus of one token is greedy


def test_a_sample_follows_the_nucleus_of_the_whole_vocabulary() -> None:
    """Sampling looks only at tokens with mass worth counting; the draws still follow the
    top-p nucleus of the full distribution, and a flat tail that holds mass is drawn from."""
    from vibe_ls.engine.sampling import pick

    peaked = np.full(151_936, -40.0, np.float32)
    peaked[:5] = [5.0, 4.5, 4.0, 3.0, 1.0]
    rng = np.random.default_rng(1)
    draws = np.bincount([pick(peaked, Sampling(1.0, 0.9), rng) for _ in range(4000)],
                        minlength=peaked.size)
    exact = np.exp(peaked[:3] - 5.0) / np.exp(peaked[:3] - 5.0).sum()  # 0.93 of the mass
    assert draws[3:].sum() == 0
    assert np.abs(draws[:3] / 4000 - exact).max() < 0.03
    flat = np.zeros(151_936, np.float32)
    flat[0] = 5.0  # e^5 against 151,935 tokens of e^0: the tail holds 99.9% of the mass
    tail = [pick(flat, Sampling(1.0), rng) for _ in range(200)]
    assert sum(t != 0 for t in tail) > 190


def test_stop_string_ends_generation_and_is_cut(engine: Engine) -> None:
    prompt = engine.encode_chat(ask("stop"))
    full = engine.generate(Request(prompt, max_new_tokens=40)).text
    stop = full[10:13]
    result = engine.generate(Request(prompt, max_new_tokens=40, stop=(stop,)))
    assert result.finish_reason == "stop"
    assert result.text == full[: full.index(stop)]


def test_reasoning_budget_forces_an_answer(engine: Engine) -> None:
    prompt = engine.chat.encode(engine.chat.render(ask("think")) + "<think>\n")
    result = engine.generate(Request(prompt, max_new_tokens=60, reasoning_budget=10))
    assert "</think>" in result.text
    forced = engine.chat.encode("\n</think>\n\n")
    assert result.tokens[10 : 10 + len(forced)] == forced  # right after 10 thinking tokens
    unlimited = engine.generate(Request(prompt, max_new_tokens=60))
    assert "</think>" not in unlimited.text  # the random model never closes it by itself


def test_a_batch_decodes_each_row_as_if_alone(batching: Engine) -> None:
    """Rows of different prompts (left-padded), samplings, stops and lengths decoded together
    give each the tokens it gets alone; a finished row leaves without disturbing the rest."""
    short = batching.encode_chat(ask("a"))
    long = batching.encode_chat(ask("a much longer question"))
    full = batching.generate(Request(long, max_new_tokens=40)).text
    requests = [Request(short, max_new_tokens=30),
                Request(long, max_new_tokens=40, stop=(full[12:15],)),
                Request(short, max_new_tokens=24, sampling=Sampling(1.0, 0.95, seed=5)),
                Request(long, max_new_tokens=9)]
    alone = [batching.generate(r) for r in requests]
    pieces: list[str] = []
    together = batching.generate_many(requests, on_text=lambda d, _n: pieces.append(d))
    assert [r.tokens for r in together] == [r.tokens for r in alone]
    assert [r.finish_reason for r in together] == [r.finish_reason for r in alone]
    assert together[1].finish_reason == "stop" and together[3].finish_reason == "length"
    assert "".join(pieces) == together[0].text  # the first row streams


def test_a_batch_stops_on_cancel_and_forces_reasoning_per_row(batching: Engine) -> None:
    thinking = batching.chat.encode(batching.chat.render(ask("think")) + "<think>\n")
    rows = batching.generate_many([Request(thinking, max_new_tokens=40, reasoning_budget=6),
                                 Request(thinking, max_new_tokens=40)])
    assert "</think>" in rows[0].text and "</think>" not in rows[1].text
    cancel = threading.Event()

    def on_text(_delta: str, generated: int) -> None:
        if generated >= 5:
            cancel.set()
    prompt = batching.encode_chat(ask("cancel us"))
    stopped = batching.generate_many([Request(prompt, max_new_tokens=200)] * 3, on_text, cancel)
    assert all(r.finish_reason == "cancelled" and len(r.tokens) <= 6 for r in stopped)


def test_a_finished_row_can_drop_the_rest_of_its_batch(batching: Engine) -> None:
    """The verifier stops a batch once a short row (the reference) settles the question: the
    rows still running finish as "dropped", with what they wrote so far."""
    prompt = batching.encode_chat(ask("drop us"))
    requests = [Request(prompt, max_new_tokens=200), Request(prompt, max_new_tokens=6),
                Request(prompt, max_new_tokens=200)]
    heard: list[tuple[int, str, int]] = []

    def on_row(i: int, result) -> bool:
        heard.append((i, result.finish_reason, len(result.tokens)))
        return i == 1
    rows = batching.generate_many(requests, on_row=on_row)
    assert heard == [(1, "length", 6)]
    assert rows[1].tokens == batching.generate(requests[1]).tokens
    assert [r.finish_reason for r in rows] == ["dropped", "length", "dropped"]
    assert all(len(r.tokens) == 6 for r in rows)  # stopped on the step the short one ended
    assert rows[0].text and rows[0].tokens == batching.generate(requests[0]).tokens[:6]
    # Heard but not dropping: every row runs to its end, and each is heard once.
    heard.clear()
    rows = batching.generate_many(requests[:2], on_row=lambda i, r: heard.append(i) and False)
    assert sorted(heard) == [0, 1] and rows[0].finish_reason == "length"


def test_a_finished_row_can_add_a_row_to_its_batch(batching: Engine) -> None:
    """A sample that answered in prose only goes on from an opened code block as a new row
    of the same batch: it decodes as if alone, whether rows are still running or not."""
    prompt = batching.encode_chat(ask("join us"))
    later = batching.encode_chat(ask("a longer question that joins later"))
    joining = Request(later, max_new_tokens=12)
    alone = batching.generate(joining).tokens
    heard: list[int] = []
    streamed: list[tuple[str, int]] = []

    def on_row(i: int, _result) -> Request | None:
        heard.append(i)
        return joining if i == 0 else None
    for others in (30, 6):  # still running when it joins, or finished on the same step
        requests = [Request(prompt, max_new_tokens=6), Request(prompt, max_new_tokens=others)]
        heard.clear()
        streamed.clear()
        rows = batching.generate_many(requests, lambda d, n: streamed.append((d, n)),
                                    on_row=on_row)
        assert len(rows) == 3 and sorted(heard) == [0, 1, 2]
        assert rows[2].tokens == alone and rows[2].finish_reason == "length"
        assert rows[1].tokens == batching.generate(requests[1]).tokens
        # the row going on for the streamed one streams after it, its count going on too
        assert "".join(d for d, _ in streamed) == rows[0].text + rows[2].text
        assert streamed[-1][1] == len(rows[0].tokens) + len(rows[2].tokens)
    # One request alone runs (and joins) one row after the other, streaming the same way.
    streamed.clear()
    rows = batching.generate_many([Request(prompt, max_new_tokens=6)],
                                lambda d, n: streamed.append((d, n)), on_row=on_row)
    assert len(rows) == 2 and rows[1].tokens == alone
    assert "".join(d for d, _ in streamed) == rows[0].text + rows[1].text
    assert streamed[-1][1] == len(rows[0].tokens) + len(rows[1].tokens)


def _feed(lines: Lines, text: str, after_code: int | None) -> tuple[str | None, str]:
    """Stream `text` a few characters per token; (finish reason, what was written)."""
    for i in range(0, len(text), 3):
        reason = lines.push(text[i : i + 3], i // 3 + 1, after_code)
        if reason:
            return reason, text[: i + 3]
    return None, text


def test_an_answer_ends_after_its_code_and_complexity_line() -> None:
    answer = ("Use a set.\n```python\ndef f(xs):\n    return len(set(xs))\n```\n"
              "Complexity: Time O(n), Space O(n). Approach: a set.\n\nThis function works by "
              "putting every element into a set, which drops the duplicates, and then ...")
    reason, written = _feed(Lines(code_open=False), answer, after_code=48)
    assert reason == "stop" and "Approach: a set." in written and "works" not in written
    # the complexity line first: the answer ends where its code block does
    first = "Complexity: Time O(n), Space O(1).\n```python\nx = 1\n```\nThis sets x to one."
    reason, written = _feed(Lines(code_open=False), first, after_code=48)
    assert reason == "stop" and "```" in written and "sets x" not in written
    # without a complexity line, a few tokens after the block, then the end
    reason, written = _feed(Lines(code_open=False), "```python\nx = 1\n```\n" + "word " * 200,
                            after_code=10)
    assert reason == "stop" and len(written) < 80
    # an answer that starts inside an opened block (a re-ask) closes it with its first fence
    reason, _ = _feed(Lines(code_open=True), "    return 1\n```\nTime: O(1), Space O(1)\n",
                      after_code=48)
    assert reason == "stop"
    # without `after_code` nothing ends early
    assert _feed(Lines(code_open=False), answer, after_code=None)[0] is None


def test_an_answer_begun_in_a_code_block_writes_code_before_it_may_close(
        engine: Engine) -> None:
    """Asked again from an opened code block, the 0.5B wrote the TODO comment back and closed
    the block (an LeetCode stub got no insert at all): until a line of code is written,
    neither the block's close nor the answer's end can be chosen."""
    from vibe_ls.engine.generate import Generation
    from vibe_ls.engine.sampling import pick

    fence, eos = engine.chat.encode("```")[0], min(engine.eos_ids)
    assert fence in engine.chat.backtick_ids
    logits = np.zeros(engine.chat.tokenizer.get_vocab_size(), dtype=np.float32)
    logits[[fence, eos]] = 10.0
    logits[engine.chat.encode("x")[0]] = 5.0
    row = Generation(engine, Request([1, 2, 3], code_open=True), None, None)
    greedy = Sampling()
    assert engine.chat.decode([pick(row.guard(logits), greedy, row.rng)]) == "x"
    for token in engine.chat.encode("    # TODO: write it\n"):  # a comment is not code yet
        row.accept(token)
    assert pick(row.guard(logits), greedy, row.rng) not in (fence, eos)
    for token in engine.chat.encode("    return 1\n"):
        row.accept(token)
    assert pick(row.guard(logits), greedy, row.rng) in (fence, eos)
    # an answer that was not begun in a block is never held back
    free = Generation(engine, Request([1, 2, 3]), None, None)
    assert pick(free.guard(logits), greedy, free.rng) in (fence, eos)


def test_a_line_written_over_and_over_ends_the_answer() -> None:
    loop = "".join(f"# {i}. If there are no people who are the town judge, return -1\n"
                   for i in range(1, 40))
    reason, written = _feed(Lines(code_open=False), "```python\ndef f():\n" + loop, None)
    assert reason == "repetition" and written.count("town judge") == Lines.REPEATS
    sentence = "If the pointer that is pointing to the character is at the end, return True. "
    reason, written = _feed(Lines(code_open=False), "Complexity: O(n). " + sentence * 40, None)
    assert reason == "repetition" and written.count("pointing") <= Lines.REPEATS + 1
    # a complexity line is written once: written again, it starts a loop (often no code)
    said = "Complexity: Time O(n), Space O(1). Approach: Two-pointer technique.\n"
    reason, written = _feed(Lines(code_open=False), said * 5 + "```python\n", None)
    assert reason == "repetition" and written.count("Complexity") == 2
    # lines of code that differ only in their numbers are no loop (a 3x3 window written out)
    window = "".join(f"    best = max(best, grid[i + {a}][j + {b}])\n"
                     for a in range(3) for b in range(3))
    assert _feed(Lines(code_open=False), "```python\n" + window + "```\n", None)[0] is None
    # short lines repeat in real code; they do not count
    code = "```python\n" + "left += 1\nright -= 1\n" * 20 + "```\n"
    assert _feed(Lines(code_open=False), code, None)[0] is None


def test_speculation_changes_speed_not_tokens(engine: Engine) -> None:
    code = "def two_sum(nums, target):\n    seen = {}\n    for i, x in enumerate(nums):\n"
    prompt = engine.encode_chat(ask(code * 3))
    plain = engine.generate(Request(prompt, max_new_tokens=48))
    fast = engine.generate(Request(prompt, max_new_tokens=48, speculate=True))
    assert fast.tokens == plain.tokens
    assert fast.drafted > 0


def test_propose_copies_what_followed_the_last_ngram() -> None:
    assert propose([1, 2, 3, 4, 5, 9, 2, 3]) == [4, 5, 9, 2, 3]
    assert propose([1, 2, 3], max_draft=2) == []


def test_device_resident_cache_decodes_the_same_tokens(engine: Engine, tiny_fp32: Path) -> None:
    """The IOBinding decoder used on CUDA, exercised here with CPU-resident OrtValues."""
    from vibe_ls.engine.decode import BoundDecoder

    prompt = engine.encode_chat(ask("def binary_search(items, target):"))
    expected = engine.generate(Request(prompt, max_new_tokens=24))
    bound = Engine(tiny_fp32, device="cpu")
    bound.decoder = BoundDecoder(bound.decoder.session, device="cpu")
    argmax_steps = []
    on_device = bound.decoder.forward_argmax
    bound.decoder.forward_argmax = lambda *a: argmax_steps.append(1) or on_device(*a)
    again = bound.generate(Request(prompt, max_new_tokens=24, speculate=True))
    assert again.tokens == expected.tokens
    assert (again.cached_tokens, again.drafted) == (0, 0)
    assert len(argmax_steps) >= len(again.tokens) - 1  # greedy: only token ids came back
    sampled = bound.generate(Request(prompt, max_new_tokens=8,
                                     sampling=Sampling(temperature=1.0, seed=3)))
    assert sampled.tokens == engine.generate(Request(
        prompt, max_new_tokens=8, sampling=Sampling(temperature=1.0, seed=3))).tokens


def test_cuda_failure_falls_back_to_cpu_with_the_reason(
        tiny_fp32: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_create = providers._create
    tried: list[list[str]] = []

    def create(path, provider_list, threads):
        tried.append(provider_list)
        if provider_list[0] == "CUDAExecutionProvider":
            raise RuntimeError("CUDA out of memory")
        return real_create(path, provider_list, threads)
    monkeypatch.setattr(providers, "cuda_status", lambda: (True, "1 CUDA device(s)"))
    monkeypatch.setattr(providers, "_create", create)
    engine = Engine(tiny_fp32, device="cuda")
    assert tried[0][0] == "CUDAExecutionProvider"
    assert engine.provider == "cpu"
    assert "CUDA out of memory" in engine.fallback_reason
    assert engine.generate(Request(engine.encode_chat(ask("x")), max_new_tokens=4)).tokens


def test_cuda_libraries_are_loaded_from_the_nvidia_packages_when_not_found(
        tiny_fp32: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The `cuda` extra's nvidia-* wheels are not on the loader's path: the first CUDA session
    fails, onnxruntime loads them (printing, which must not reach an LSP client's stdout),
    and the second succeeds."""
    import io
    import sys

    real_create = providers._create
    loaded: list[bool] = []

    def create(path, provider_list, threads):
        if provider_list[0] == "CUDAExecutionProvider":
            if not loaded:
                raise RuntimeError("CUDAExecutionProvider could not be loaded")
            provider_list = ["CPUExecutionProvider"]  # this machine has no GPU
        return real_create(path, provider_list, threads)

    def preload() -> None:
        print("loaded libcudart.so.13")
        loaded.append(True)
    monkeypatch.setattr(providers, "cuda_status", lambda: (True, "1 CUDA device(s)"))
    monkeypatch.setattr(providers, "_create", create)
    monkeypatch.setattr(providers.ort, "preload_dlls", preload, raising=False)
    stdout = io.StringIO()
    monkeypatch.setattr(sys, "stdout", stdout)
    opened = providers.open_session(tiny_fp32 / "model.onnx", device="cuda")
    assert loaded and opened.provider == "cuda" and not opened.fallback_reason
    assert stdout.getvalue() == ""


def test_auto_without_a_gpu_uses_cpu_and_says_why(tiny_fp32: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(providers, "_gpu_count", lambda: (0, "no NVIDIA driver"))
    opened = providers.open_session(tiny_fp32 / "model.onnx", device="auto")
    assert opened.provider == "cpu"
    assert "no NVIDIA driver" in opened.fallback_reason


def test_a_damaged_model_is_refused_with_a_hint(tiny_fp32: Path, tmp_path: Path) -> None:
    import shutil

    from vibe_ls.errors import VibeError

    copy = shutil.copytree(tiny_fp32, tmp_path / "m")
    (copy / "tokenizer.json").write_text("{}")
    with pytest.raises(VibeError, match="damaged") as err:
        Engine(copy, device="cpu")
    assert "vibe-ls setup" in err.value.hint


def test_the_server_starts_without_loading_the_inference_stack() -> None:
    """onnxruntime, numpy and the tokenizer load with the model, on the first request:
    `initialize` is answered without them (0.55 s after spawning instead of 0.7 s)."""
    code = ("import sys, vibe_ls.server\n"
            "from vibe_ls.assist import Assistant\n"
            "Assistant().model_problem()  # what `initialized` checks\n"
            "loaded = {'onnxruntime', 'numpy', 'tokenizers', 'jinja2'} & set(sys.modules)\n"
            "assert not loaded, loaded")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_runtime_never_imports_torch_or_transformers() -> None:
    code = ("import sys, vibe_ls, vibe_ls.cli, vibe_ls.engine, vibe_ls.doctor, vibe_ls.install\n"
            "heavy = {'torch', 'transformers', 'optimum'} & set(sys.modules)\n"
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_static_row_gets_back_a_prefix_another_prompt_displaced(tiny_gqa: Path) -> None:
    """The static buffer's row holds the last prompt; one that does not continue it stashes
    it first, so going back to it prefills only the new part, with the same tokens."""
    engine = Engine(tiny_gqa, device="cpu")
    first = engine.encode_chat(ask("the first question, with some length to it"))
    other = engine.chat.encode("<|im_start|>user\nsomething else entirely<|im_end|>\n")
    cold = engine.generate(Request(first, max_new_tokens=16))
    engine.generate(Request(other, max_new_tokens=8))
    again = engine.generate(Request(first, max_new_tokens=16))
    assert cold.cached_tokens == 0
    assert again.cached_tokens == len(first) - 1
    assert again.tokens == cold.tokens


def test_a_static_greedy_step_brings_back_only_the_token(tiny_gqa: Path) -> None:
    engine = Engine(tiny_gqa, device="cpu")
    asked: list[bool] = []
    step = engine.decoder.step
    engine.decoder.step = lambda t, s, want: asked.append(want) or step(t, s, want)
    prompt = engine.encode_chat(ask("def binary_search(items, target):"))
    engine.generate(Request(prompt, max_new_tokens=12, ignore_eos=True))
    assert asked == [False] * 12  # each token chosen runs one step: none asks for logits
    asked.clear()
    engine.generate(Request(prompt, max_new_tokens=6, ignore_eos=True,
                            sampling=Sampling(temperature=1.0, seed=2)))
    assert asked == [True] * 6  # sampling needs the logits


def test_a_full_static_buffer_ends_the_answer(tiny_gqa: Path) -> None:
    from vibe_ls.engine.static import StaticDecoder
    from vibe_ls.errors import VibeError

    engine = Engine(tiny_gqa, device="cpu")
    prompt = engine.encode_chat(ask("fill the buffer"))
    unbounded = engine.generate(Request(prompt, max_new_tokens=100, ignore_eos=True))
    context = len(prompt) + 20
    engine.decoder = StaticDecoder(engine.decoder.session, "cpu", context=context)
    full = engine.generate(Request(prompt, max_new_tokens=100, ignore_eos=True))
    assert full.finish_reason == "length"
    assert full.tokens == unbounded.tokens[:20]  # each token written takes one position
    with pytest.raises(VibeError, match="KV buffer holds"):
        engine.generate(Request(prompt * 2, max_new_tokens=5))
