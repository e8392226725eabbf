"""LoRA in the exported graph and peft adapters converted for it.

The graph gains, beside each target projection (`q_proj`, `v_proj` of every layer), a
low-rank branch `x @ A @ B` added to the projection's output, where A [in, r] and B [r, out]
are graph inputs with empty defaults ([in, 0] and [0, out]): with nothing fed, the branch
adds zeros and the base model runs unchanged. An adapter is the set of those tensors, fed
as inputs (see vibe_ls/adapters.py). The base MatMul may be a MatMulNBits (int4); the branch
stays in the activations' float type.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from vibe_ls.adapters import lora_input_names
from vibe_ls.errors import VibeError

TARGETS = ("q_proj", "v_proj")
_PROJECTION = re.compile(r"^/model/layers\.(\d+)/self_attn/(\w+_proj)/MatMul")
_PEFT_KEY = re.compile(r"(?:base_model\.model\.)?(model\.layers\.\d+\.self_attn\.\w+_proj)"
                       r"\.lora_([AB])(?:\.default)?\.weight$")


def _projection_dims(graph, node) -> tuple[int, int]:
    """(in, out) features of a projection node (MatMul with an initializer, or MatMulNBits)."""
    if node.op_type == "MatMulNBits":
        attrs = {a.name: a.i for a in node.attribute}
        return attrs["K"], attrs["N"]
    weight = next(t for t in graph.initializer if t.name == node.input[1])
    return weight.dims[0], weight.dims[1]


def add_lora_inputs(model_path: Path, targets: tuple[str, ...] = TARGETS) -> int:
    """Give every target projection a LoRA branch fed by two graph inputs; edits the graph
    in place (the weights are untouched) and returns how many projections got one."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(model_path, load_external_data=False)
    graph = model.graph
    fp16 = any(i.type.tensor_type.elem_type == TensorProto.FLOAT16 for i in graph.input)
    dtype = TensorProto.FLOAT16 if fp16 else TensorProto.FLOAT
    present, count = {i.name for i in graph.input}, 0
    for node in list(graph.node):
        match = _PROJECTION.match(node.name)
        if not match or match[2] not in targets or node.op_type not in ("MatMul", "MatMulNBits"):
            continue
        a_name, b_name = lora_input_names(int(match[1]), match[2])
        if a_name in present:  # it has its branch already
            continue
        d_in, d_out = _projection_dims(graph, node)
        graph.input.extend([helper.make_tensor_value_info(a_name, dtype, [d_in, "lora_rank"]),
                            helper.make_tensor_value_info(b_name, dtype, ["lora_rank", d_out])])
        graph.initializer.extend([helper.make_tensor(a_name, dtype, [d_in, 0], []),
                                  helper.make_tensor(b_name, dtype, [0, d_out], [])])
        prefix, out = node.name.rsplit("/", 1)[0] + "/lora", node.output[0]
        node.output[0] = f"{prefix}/base_output"
        branch = [
            helper.make_node("MatMul", [node.input[0], a_name], [f"{prefix}/down"],
                             name=f"{prefix}/MatMul_A"),
            helper.make_node("MatMul", [f"{prefix}/down", b_name], [f"{prefix}/up"],
                             name=f"{prefix}/MatMul_B"),
            helper.make_node("Add", [node.output[0], f"{prefix}/up"], [out], name=f"{prefix}/Add"),
        ]
        position = list(graph.node).index(node) + 1
        for offset, new in enumerate(branch):
            graph.node.insert(position + offset, new)
        count += 1
    if count:
        onnx.save_model(model, model_path)
    return count


def read_peft(peft_dir: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """peft's adapter_config.json and adapter_model.safetensors, or a clear error."""
    from safetensors.numpy import load_file

    config_path, weights = peft_dir / "adapter_config.json", peft_dir / "adapter_model.safetensors"
    for path in (config_path, weights):
        if not path.is_file():
            raise VibeError(f"{peft_dir} has no {path.name}",
                            "point at a peft adapter directory (save_pretrained's output)")
    config = json.loads(config_path.read_text())
    if config.get("peft_type", "LORA") != "LORA":
        raise VibeError(f"{peft_dir} is a {config.get('peft_type')} adapter; only LoRA is "
                        "supported")
    return config, load_file(weights)


def peft_to_inputs(config: dict, tensors: dict[str, np.ndarray],
                   graph_inputs: dict[str, tuple]) -> dict[str, np.ndarray]:
    """The graph's LoRA inputs from a peft LoRA: each matrix transposed (peft keeps
    torch's [out, in]), and B scaled by alpha / r (peft scales at run time, the graph does
    not). `graph_inputs` (name -> shape) is what the base model takes: a target, rank or
    size that does not fit is an error naming it."""
    rank, alpha = int(config["r"]), float(config.get("lora_alpha", config["r"]))
    if config.get("use_rslora") or config.get("use_dora"):
        raise VibeError("rsLoRA / DoRA adapters are not supported", "train a plain LoRA")
    if config.get("rank_pattern") or config.get("alpha_pattern"):
        raise VibeError("adapters with per-layer ranks (rank_pattern) are not supported")
    inputs: dict[str, np.ndarray] = {}
    for key, value in tensors.items():
        match = _PEFT_KEY.search(key)
        if match is None:
            raise VibeError(f"unexpected tensor {key!r} in the adapter",
                            "only LoRA on attention projections (q/k/v/o_proj) is supported")
        name = f"{match[1]}.lora_{match[2]}.weight"
        if name not in graph_inputs:
            raise VibeError(f"the adapter changes {match[1]}, which the base model takes no "
                            f"LoRA input for", f"it takes: {_targets_of(graph_inputs)}")
        matrix = value.astype(np.float32).T
        inputs[name] = matrix * (alpha / rank) if match[2] == "B" else matrix
    _check_shapes(inputs, graph_inputs, rank)
    return {k: np.ascontiguousarray(v) for k, v in inputs.items()}


def _targets_of(graph_inputs: dict[str, tuple]) -> str:
    return ", ".join(sorted({n.split(".")[-3] for n in graph_inputs}))


def _check_shapes(inputs: dict[str, np.ndarray], graph_inputs: dict[str, tuple],
                  rank: int) -> None:
    for name, value in inputs.items():
        want = graph_inputs[name]
        fixed = want[0] if name.endswith("lora_A.weight") else want[1]
        got = value.shape[0] if name.endswith("lora_A.weight") else value.shape[1]
        if got != fixed or rank not in value.shape:
            raise VibeError(f"the adapter's {name} is {list(value.shape)}, the base model "
                            f"expects {fixed} features there with rank {rank}",
                            "the adapter was trained for another base model")


def merge_peft(checkpoint: Path, peft_dir: Path, out: Path) -> Path:
    """The checkpoint with a peft LoRA merged into its weights (a plain checkpoint again,
    tokenizer and chat template included), written to `out`."""
    import shutil

    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    read_peft(peft_dir)  # a clear error for what is not a LoRA directory
    model = AutoModelForCausalLM.from_pretrained(checkpoint, dtype="float32")
    try:
        merged = PeftModel.from_pretrained(model, peft_dir).merge_and_unload()
    except (ValueError, RuntimeError, KeyError) as exc:
        raise VibeError(f"the adapter {peft_dir} does not fit {checkpoint}: {exc}") from exc
    merged.save_pretrained(out)
    for item in checkpoint.iterdir():  # tokenizer, chat template, generation config
        if item.is_file() and not (out / item.name).exists() and \
                item.suffix in (".json", ".jinja", ".txt", ".model"):
            shutil.copy2(item, out / item.name)
    return out
