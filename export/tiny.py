"""A tiny random Qwen2 checkpoint with a real (small) BPE tokenizer, for the test suite.

2 layers, hidden 64: it builds in about a second and exports through the same pipeline as
the real models, so tests exercise export -> ONNX -> engine without downloading anything.
"""

from __future__ import annotations

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


def teach(checkpoint: Path, answer: str, out: Path, examples: list[list[dict[str, str]]],
          steps: int = 240, seed: int = 0) -> Path:
    """Train the tiny model until, after prompts like `examples` (chat message lists), it
    answers `answer` and stops.

    A real model through the real pipeline that writes a known answer: the language-server
    tests can then check what lands in the document, with no stand-in for the model.
    """
    import random

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModelForCausalLM.from_pretrained(checkpoint, dtype="float32")
    target = [*tokenizer.encode(answer, add_special_tokens=False), tokenizer.eos_token_id]
    rng = random.Random(seed)
    torch.manual_seed(seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.0)
    model.train()
    for _ in range(steps):
        prompt = _varied_prompt(tokenizer, rng.choice(examples), rng)
        ids = torch.tensor([prompt + target])
        labels = ids.clone()
        labels[0, : len(prompt)] = -100  # learn the answer, not the prompt
        loss = model(ids, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def _varied_prompt(tokenizer, messages: list[dict[str, str]], rng) -> list[int]:
    """An example prompt with some of its user text replaced by noise, so the answer does
    not depend on the exact words."""
    noise = " ".join(rng.choice(CORPUS) for _ in range(rng.randint(0, 4)))
    varied = [*messages[:-1], {"role": "user", "content": noise + messages[-1]["content"]}]
    text = tokenizer.apply_chat_template(varied, add_generation_prompt=True, tokenize=False)
    return tokenizer.encode(text, add_special_tokens=False)
