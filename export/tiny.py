"""A tiny random Qwen2 checkpoint with a real (small) BPE tokenizer, for the test suite.

2 layers, hidden 64: it builds in about a second and exports through the same pipeline as
the real models, so tests exercise export -> ONNX -> engine without downloading anything.
"""

from __future__ import annotations

from pathlib import Path

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
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
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
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
