"""A tiny random Qwen2 checkpoint with a real (small) BPE tokenizer, for the test suite.

2 layers, hidden 64: it builds in about a second and exports through the same pipeline as
the real models, so tests exercise export -> ONNX -> engine without downloading anything.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import gguf

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
QWEN2_SPLIT = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"""
               r"""| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""")
# A ChatML template like Qwen2's, so prompts built for the real models work on this one.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
CORPUS = [
    "def two_sum(nums, target):\n    seen = {}\n    for i, x in enumerate(nums):\n",
    "        if target - x in seen:\n            return [seen[target - x], i]\n",
    "        seen[x] = i\n    return []\n",
    "# TODO: implement binary search. Time: O(log n), Space: O(1)\n",
    "int main(void) { return 0; }  // TODO: 找出数组中三个数之和最接近目标值的组合\n",
    "You are an algorithm engineer. Show reasoning, then clean code with complexity.\n",
    "def binary_search(items: list[int], target: int) -> int:\n",
    '    """Return the index of target in the sorted list items, or -1."""\n',
    "    lo, hi = 0, len(items) - 1\n    while lo <= hi:\n        mid = (lo + hi) // 2\n",
]


def build_tokenizer(vocab_size: int = 512):
    """A byte-level BPE trained on a few lines of code; every byte is in its alphabet."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    # Qwen2's own normalizer and split regex: transformers rebuilds exactly these when it loads
    # a qwen2 GGUF, so the tokenizer survives `write_gguf` with identical ids.
    core.normalizer = normalizers.NFC()
    core.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    core.train_from_iterator(CORPUS * 4, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=core, eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>", chat_template=CHAT_TEMPLATE)


def build_checkpoint(out: Path, seed: int = 0) -> Path:
    """Write a random tiny Qwen2ForCausalLM checkpoint with tokenizer to `out`."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    tokenizer = build_tokenizer()
    eos = [tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>")]
    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        max_position_embeddings=1024, tie_word_embeddings=False,
        initializer_range=0.02, eos_token_id=eos[0], pad_token_id=eos[1], bos_token_id=None,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config).eval()
    # A wide lm_head makes the logits decisive (std ~8 over unit-RMS hidden states), so greedy
    # parity tests mean something and int4 rounding does not flip every argmax.
    with torch.no_grad():
        model.lm_head.weight.normal_(0.0, 1.0)
    model.generation_config = GenerationConfig(eos_token_id=eos, pad_token_id=eos[1])
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def write_gguf(checkpoint: Path, out: Path) -> Path:
    """Convert a checkpoint from `build_checkpoint` into one F32 GGUF file at `out`."""
    import gguf
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(checkpoint)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(out, "qwen2")
    writer.add_name(checkpoint.name)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_rope_freq_base(config.rope_theta)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    _add_gguf_tokenizer(writer, checkpoint)
    _add_gguf_tensors(writer, checkpoint, config.num_hidden_layers)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out


def _add_gguf_tokenizer(writer: gguf.GGUFWriter, checkpoint: Path) -> None:
    """Write the byte-level BPE vocab, merges, special ids and chat template."""
    import json

    import gguf
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = json.loads((checkpoint / "tokenizer.json").read_text(encoding="utf-8"))["model"]
    vocab = {**model["vocab"], **{t.content: i for i, t in tokenizer.added_tokens_decoder.items()}}
    tokens = sorted(vocab, key=vocab.__getitem__)
    normal, control = gguf.TokenType.NORMAL, gguf.TokenType.CONTROL
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2")
    writer.add_token_list(tokens)
    writer.add_token_types([control if t in SPECIAL_TOKENS else normal for t in tokens])
    # tokenizers >= 0.20 saves merges as pairs; GGUF (and transformers' reader) wants "a b".
    writer.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in model["merges"]])
    # Qwen2 has no BOS; like llama.cpp's Qwen GGUFs, name <|endoftext|> and never prepend it.
    writer.add_bos_token_id(tokenizer.convert_tokens_to_ids("<|endoftext|>"))
    writer.add_eos_token_id(tokenizer.eos_token_id)
    writer.add_pad_token_id(tokenizer.pad_token_id)
    writer.add_add_bos_token(False)
    writer.add_chat_template(tokenizer.chat_template)


def _add_gguf_tensors(writer: gguf.GGUFWriter, checkpoint: Path, n_layers: int) -> None:
    """Add every weight as F32 under the GGUF name transformers maps back to the HF one."""
    import gguf
    from safetensors.numpy import load_file

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.QWEN2, n_layers)
    for hf_name, array in load_file(checkpoint / "model.safetensors").items():
        base, _, suffix = hf_name.rpartition(".")
        # Qwen2 has no Q/K rotary permute in GGUF (unlike llama), so weights go in as-is.
        writer.add_tensor(f"{names.get_name(base)}.{suffix}", array.astype("float32"))


Messages = list[dict[str, str]]
# Example prompts (chat message lists) and the one answer the model must write after each.
Lesson = tuple[list[Messages], str]

MAX_STEPS = 2000  # a model that has not learned its lessons by then never will: fail loudly
CHECK_EVERY = 25  # steps between checks of what the model writes greedily
# The least gap between the answer's token and the runner-up logit, at every position, that
# counts as learned: far above the float noise between torch, onnxruntime and CPU kinds.
MARGIN = 1.0
# The learning rate falls as 1 / (1 + step / DECAY): at a constant rate eight lessons came
# near and fell back for hundreds of steps (575 to learn them; 400 so).
DECAY = 300


class NotTaught(RuntimeError):
    """The tiny model did not learn to write its answer within the steps allowed."""


def teach(checkpoint: Path, lessons: list[Lesson] | str, out: Path,
          examples: list[Messages] | None = None, *, max_steps: int = MAX_STEPS,
          margin: float = MARGIN, seed: int = 0, lessons_per_step: int = 4, lr: float = 3e-3,
          ) -> Path:
    """Train the tiny model until, after prompts like each lesson's examples, it answers that
    lesson's answer and stops: greedily, with `margin` to spare, on every example prompt.

    `teach(checkpoint, answer, out, examples)` teaches one answer. A real model through the
    real pipeline that writes a known answer: the language-server tests can then check what
    lands in the document, with no stand-in for the model. Raises NotTaught (with what the
    model wrote) if it has not learned after `max_steps`.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if isinstance(lessons, str):
        if not examples:
            raise TypeError("teach(checkpoint, answer, out, examples): no example prompts")
        lessons = [(examples, lessons)]
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModelForCausalLM.from_pretrained(checkpoint, dtype="float32")
    with _deterministic(seed):
        _train(model, tokenizer, lessons, max_steps, margin, seed,
               min(lessons_per_step, len(lessons)), lr)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def _train(model, tokenizer, lessons: list[Lesson], max_steps: int, margin: float,
           seed: int, batch: int, lr: float) -> int:
    """Steps of AdamW on noisy example prompts, `batch` (prompt, answer) pairs a step, until
    `_unlearned` finds nothing; the steps it took.

    What it costs is the examples seen more than the steps: measured on 2 cores, one lesson
    is learned after about 150 examples (7 s) and the eight of tests/shapes.py after about
    1600 (70 s), little faster at other batches (1 to 8) or learning rates (3e-3 to 1e-2)."""
    import random

    import torch

    rng = random.Random(seed)
    answers = [_answer_ids(tokenizer, answer) for _, answer in lessons]
    clean = [(tokenizer.apply_chat_template(m, add_generation_prompt=True), answers[i])
             for i, (examples, _) in enumerate(lessons) for m in examples]
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: DECAY / (DECAY + t))
    draw = _drawing(tokenizer, lessons, answers, rng)
    for step in range(0, max_steps, CHECK_EVERY):
        if not _unlearned(model, clean, margin):
            return step
        model.train()
        for _ in range(CHECK_EVERY):
            ids, mask, labels = _batch([draw() for _ in range(batch)], tokenizer.pad_token_id)
            loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    missed = _unlearned(model, clean, margin)
    if not missed:
        return max_steps
    prompt, answer, lead = missed[0]
    raise NotTaught(f"after {max_steps} steps the tiny model still does not write its answer "
                    f"with a lead of {margin} at every token ({len(missed)} of {len(clean)} "
                    f"example prompts missed; here the least lead is {lead:.2f}): asked for "
                    f"{tokenizer.decode(answer)!r} it writes "
                    f"{_greedy_text(model, tokenizer, prompt, len(answer))!r}")


def _drawing(tokenizer, lessons: list[Lesson], answers: list[list[int]], rng):
    """A function that draws the next (noisy prompt, answer ids) to learn: every lesson once,
    in a shuffled order, then again, so that none is starved."""
    order: list[int] = []

    def draw() -> tuple[list[int], list[int]]:
        nonlocal order
        order = order or rng.sample(range(len(lessons)), len(lessons))
        lesson = order.pop()
        return _varied_prompt(tokenizer, rng.choice(lessons[lesson][0]), rng), answers[lesson]
    return draw


def _answer_ids(tokenizer, answer: str) -> list[int]:
    return [*tokenizer.encode(answer, add_special_tokens=False), tokenizer.eos_token_id]


def _batch(pairs: list[tuple[list[int], list[int]]], pad: int):
    """(input ids, attention mask, labels) for (prompt, answer) pairs, padded on the right;
    labels only on the answers (the model learns to answer, not to write prompts)."""
    import torch

    width = max(len(p) + len(a) for p, a in pairs)
    ids = torch.full((len(pairs), width), pad)
    mask = torch.zeros((len(pairs), width), dtype=torch.long)
    labels = torch.full((len(pairs), width), -100)
    for row, (prompt, answer) in enumerate(pairs):
        end = len(prompt) + len(answer)
        ids[row, :end] = torch.tensor(prompt + answer)
        mask[row, :end] = 1
        labels[row, len(prompt):end] = ids[row, len(prompt):end]
    return ids, mask, labels


def _unlearned(model, pairs: list[tuple[list[int], list[int]]], margin: float,
               ) -> list[tuple[list[int], list[int], float]]:
    """(prompt, answer, least lead) for the pairs the model would not answer greedily with
    `margin` to spare.

    One forward pass on prompt + answer shows every greedy choice along the answer at once:
    greedy decoding writes the answer exactly when, at each of its positions, the answer's
    token is the argmax; its lead is how far its logit is ahead of the runner-up's."""
    import torch

    model.eval()
    missed = []
    with torch.no_grad():
        for start in range(0, len(pairs), 8):
            chunk = pairs[start : start + 8]
            ids, mask, _ = _batch(chunk, 0)
            logits = model(input_ids=ids, attention_mask=mask).logits
            for row, (prompt, answer) in enumerate(chunk):
                # the logits at position t choose token t + 1
                chosen = logits[row, len(prompt) - 1 : len(prompt) + len(answer) - 1]
                wanted = torch.tensor(answer)[:, None]
                rivals = chosen.scatter(1, wanted, float("-inf")).max(dim=1).values
                lead = float((chosen.gather(1, wanted)[:, 0] - rivals).min())
                if lead < margin:
                    missed.append((prompt, answer, lead))
    return missed


def _greedy_text(model, tokenizer, prompt: list[int], tokens: int) -> str:
    """What the model writes greedily after `prompt` (for the message of a failure)."""
    import torch

    with torch.no_grad():
        out = model.generate(torch.tensor([prompt]), max_new_tokens=tokens + 8,
                             do_sample=False)
    return tokenizer.decode(out[0, len(prompt):])


@contextlib.contextmanager
def _deterministic(seed: int):
    """Seeded, deterministic torch kernels on one thread while teaching, so that machines of
    one kind train the same model whatever their core counts (on 2 busy cores one thread was
    also twice as fast as two: the matrices are tiny). The settings it found are restored
    after."""
    import torch

    saved = torch.are_deterministic_algorithms_enabled(), torch.get_num_threads()
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(saved[0])
        torch.set_num_threads(saved[1])


def teach_exported(checkpoint: Path, lessons: list[Lesson], out: Path, work: Path,
                   rounds: int = 3, seed: int = 0) -> Path:
    """`teach`, export the taught model to the fp32 model directory `out`, and check that it
    writes each lesson's answer greedily through vibe-ls's own engine (onnxruntime, KV cache,
    chunked prefill) on every example prompt. Where it does not, it is taught on from there,
    with twice the margin, up to `rounds` times; then NotTaught says what it wrote.
    Checkpoints go into the folder `work`."""
    from vibe_ls_export.pipeline import export_model

    source, margin = checkpoint, MARGIN
    for round_ in range(1, rounds + 1):
        source = teach(source, lessons, work / f"round-{round_}", margin=margin,
                       seed=seed + round_ - 1)
        export_model(str(source), out, precision="fp32", force=True, progress=lambda _: None)
        misses = exported_misses(out, lessons)
        if not misses:
            return out
        margin *= 2
    prompt, answer, written = misses[0]
    raise NotTaught(f"the exported tiny model {out.name} still does not write its answer after "
                    f"{rounds} rounds of teaching ({len(misses)} prompts missed); asked for "
                    f"{answer!r} after {prompt[-1]['content'][-200:]!r} it writes {written!r}")


def exported_misses(model_dir: Path, lessons: list[Lesson],
                    ) -> list[tuple[Messages, str, str]]:
    """(prompt, answer, what it wrote) for each example prompt where the exported model in
    `model_dir` does not write its lesson's answer, and stop, greedily through the engine."""
    from vibe_ls.engine import Engine, Request

    engine = Engine(model_dir, device="cpu")
    misses = []
    for examples, answer in lessons:
        budget = len(engine.chat.encode(answer)) + 16  # enough to show it goes on past the end
        for messages in examples:
            result = engine.generate(Request(engine.encode_chat(messages), budget))
            if result.text != answer or result.finish_reason != "eos":
                misses.append((messages, answer, result.text))
    return misses


NOISE_LINES = 2  # at most this many noise lines go between the lines of a prompt
NOISE_CODE = 0.5  # the share of noise lines that are code from CORPUS
# The other noise lines are a few of these: code's characters, and the rarer ones real files
# hold (a page break, a LINE SEPARATOR in a string, CJK in a comment).
NOISE_CHARACTERS = "abcxyzXYZ019_ ()[]{}:;=+-*/#.,'\"\t\x0c\u2028找出数组"


def _varied_prompt(tokenizer, messages: list[dict[str, str]], rng) -> list[int]:
    """An example prompt with noise before its user text and between its lines, so the
    answer does not depend on the exact words: another file name, code around the TODO,
    a line the user typed meanwhile."""
    noise = " ".join(rng.choice(CORPUS) for _ in range(rng.randint(0, 4)))
    lines = messages[-1]["content"].split("\n")
    for _ in range(rng.randint(0, NOISE_LINES)):
        # never after the last line: the prompt's end ("Answer in Rust.") stays where the
        # server puts it, and the model learns to read the language there (with noise after
        # it too, eight lessons took 675 to 800 steps instead of 575)
        lines.insert(rng.randint(0, len(lines) - 1), _noise_line(rng))
    user = {"role": "user", "content": noise + "\n".join(lines)}
    text = tokenizer.apply_chat_template([*messages[:-1], user], add_generation_prompt=True,
                                         tokenize=False)
    return tokenizer.encode(text, add_special_tokens=False)


def _noise_line(rng) -> str:
    """A line of code from CORPUS, or a few random characters."""
    if rng.random() < NOISE_CODE:
        return rng.choice(CORPUS).rstrip("\n")
    return "".join(rng.choice(NOISE_CHARACTERS) for _ in range(rng.randint(1, 12)))
