"""ONNX export with optimum, and the precision passes that follow it (int4, fp16)."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from vibe_ls.errors import VibeError

log = logging.getLogger(__name__)

MODEL_FILE = "model.onnx"
INT4_BLOCK_SIZE = 32
# accuracy_level 4: int8 activations in the MatMulNBits kernel, the fastest CPU path
# (level 0, fp32 activations, decodes at 27-31 tok/s against 50-53 and is no closer to fp32).
INT4_ACCURACY_LEVEL = 4
# Asymmetric blocks (a zero point per block of 32). The weights come from a Q4_K_M GGUF, whose
# 4-bit blocks are affine (a scale and a minimum each), so a symmetric grid around zero fits
# them badly. Measured on the 0.5B against its fp32 export, 600 tokens of this project's code:
# mean KL 0.096 -> 0.065, top-1 81.5% -> 83.2%; LeetCode Easy pass@1 (40 stubs, greedy, no
# verification) 12.5% -> 22.5%; decode speed unchanged.
INT4_SYMMETRIC = False


def export_fp32(checkpoint: Path, out: Path) -> Path:
    """optimum's text-generation-with-past export: one decoder graph with KV cache I/O."""
    from optimum.exporters.onnx import main_export

    try:
        # The tracer warns about every Python branch on tensor shapes; none matter for a
        # decoder exported with dynamic axes, and the parity check proves the graph.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            main_export(str(checkpoint), output=out, task="text-generation-with-past",
                        device="cpu", do_validation=False, no_post_process=False)
    except (ValueError, KeyError) as exc:
        raise VibeError(f"optimum could not export {checkpoint}: {exc}",
                        "supported: Qwen2 / Llama-family causal LMs") from exc
    return out / MODEL_FILE


def add_logits_to_keep(model_path: Path) -> None:
    """Compute lm_head only for the last `logits_to_keep` positions (a new scalar input).

    A prefill needs the logits of its last token only; the full [seq, vocab] projection is
    about a quarter of a small model's prefill compute. Speculative verification asks for
    the few positions it checks. Edits the graph in place; the weights are untouched.
    """
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(model_path, load_external_data=False)
    graph = model.graph
    lm_head = next(n for n in graph.node if n.op_type == "MatMul" and "lm_head" in n.name)
    graph.input.append(helper.make_tensor_value_info("logits_to_keep", TensorProto.INT64, []))
    sliced = "/lm_head/kept_hidden_states"
    graph.initializer.extend([
        helper.make_tensor("/lm_head/keep_ends", TensorProto.INT64, [1], [2**62]),
        helper.make_tensor("/lm_head/keep_axes", TensorProto.INT64, [1], [1]),
        helper.make_tensor("/lm_head/unsqueeze_axes", TensorProto.INT64, [1], [0]),
    ])
    position = list(graph.node).index(lm_head)
    new_nodes = [
        helper.make_node("Neg", ["logits_to_keep"], ["/lm_head/keep_neg"]),
        helper.make_node("Unsqueeze", ["/lm_head/keep_neg", "/lm_head/unsqueeze_axes"],
                         ["/lm_head/keep_starts"]),
        helper.make_node("Slice", [lm_head.input[0], "/lm_head/keep_starts",
                                   "/lm_head/keep_ends", "/lm_head/keep_axes"], [sliced]),
    ]
    for offset, node in enumerate(new_nodes):
        graph.node.insert(position + offset, node)
    lm_head.input[0] = sliced
    logits = next(o for o in graph.output if o.name == "logits")
    logits.type.tensor_type.shape.dim[1].dim_param = "logits_to_keep"
    # The greedy choice computed where the logits are: on CUDA only this id comes back.
    graph.node.append(helper.make_node("ArgMax", ["logits"], ["next_token"], axis=-1,
                                       keepdims=0, name="/next_token/ArgMax"))
    graph.output.append(helper.make_tensor_value_info(
        "next_token", TensorProto.INT64, ["batch_size", "logits_to_keep"]))
    onnx.save_model(model, model_path)


def group_attention(model_path: Path, heads: int) -> int:
    """Attend with the KV heads as they are instead of repeating them (grouped-query
    attention without `repeat_kv`); returns how many layers were rewritten.

    optimum's graph expands every layer's whole key and value cache from `kv_heads` to
    `heads` (7x for Qwen2.5-0.5B) on every step, then transposes the expanded keys: at a
    1000-token context that copying is most of a decode step, and it grows with the batch.
    Here the queries of each KV group are stacked instead (`[b, heads, s, d]` ->
    `[b, kv, heads/kv * s, d]`, a free reshape, since head h reads KV head h // (heads/kv)),
    multiplied with the group's keys and values directly, and reshaped back, so the scores
    and the attention output keep their shapes and everything between them (mask, softmax)
    is untouched. Same inputs and outputs; edits the graph in place.
    """
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(model_path, load_external_data=False)
    graph = model.graph
    producer = {out: node for node in graph.node for out in node.output}
    past = {i.name: i for i in graph.input if i.name.startswith("past_key_values.")}
    if not past:
        return 0
    dims = next(iter(past.values())).type.tensor_type.shape.dim
    kv, head_dim = dims[1].dim_value, dims[3].dim_value
    if not kv or not head_dim or heads % kv or heads == kv:
        return 0

    def chain(name: str, ops: tuple[str, ...]):
        """The nodes producing `name` through `ops` (nearest first), or None."""
        found = []
        for op in ops:
            node = producer.get(name)
            if node is None or node.op_type != op:
                return None
            found.append(node)
            name = node.input[0]
        return found, name

    def const(name: str, values: list[int]) -> str:
        graph.initializer.append(helper.make_tensor(name, TensorProto.INT64, [len(values)],
                                                    values))
        return name

    grouped = const("/grouped_attention/grouped_shape", [0, kv, -1, 0])
    per_head = const("/grouped_attention/per_head_shape", [0, heads, -1, 0])
    rewritten, new_nodes = 0, []
    for node in list(graph.node):
        if node.op_type != "MatMul":
            continue
        keys = chain(node.input[1], ("Mul", "Transpose", "Reshape", "Expand", "Unsqueeze"))
        values = chain(node.input[1], ("Reshape", "Expand", "Unsqueeze"))
        prefix = f"/grouped_attention/{node.name or node.output[0]}"
        if keys and keys[1].startswith("present.") and keys[1].endswith(".key"):
            scale, expanded = keys[0][0], keys[0][2].output[0]
            # The causal mask is sliced to the key length read off the expanded keys'
            # shape: read it off the cache instead (same length, same axis).
            for shape in (n for n in graph.node if n.op_type == "Shape"
                          and n.input[0] == expanded):
                if not _only_gathers_axis(graph, shape.output[0], 2):
                    return 0
                shape.input[0] = keys[1]
            new_nodes.append((node, [
                helper.make_node("Transpose", [keys[1]], [f"{prefix}/keys_t"],
                                 perm=[0, 1, 3, 2]),
                helper.make_node("Mul", [f"{prefix}/keys_t", scale.input[1]],
                                 [f"{prefix}/keys_scaled"]),
                helper.make_node("Reshape", [node.input[0], grouped], [f"{prefix}/queries"]),
                helper.make_node("MatMul", [f"{prefix}/queries", f"{prefix}/keys_scaled"],
                                 [f"{prefix}/scores"]),
                helper.make_node("Reshape", [f"{prefix}/scores", per_head], [node.output[0]]),
            ]))
        elif values and values[1].startswith("present.") and values[1].endswith(".value"):
            new_nodes.append((node, [
                helper.make_node("Reshape", [node.input[0], grouped], [f"{prefix}/probs"]),
                helper.make_node("MatMul", [f"{prefix}/probs", values[1]],
                                 [f"{prefix}/context"]),
                helper.make_node("Reshape", [f"{prefix}/context", per_head], [node.output[0]]),
            ]))
    if not new_nodes or len(new_nodes) % 2:
        graph.initializer.pop()
        graph.initializer.pop()
        return 0
    for old, replacement in new_nodes:
        position = list(graph.node).index(old)
        graph.node.remove(old)
        for offset, new in enumerate(replacement):
            graph.node.insert(position + offset, new)
        rewritten += 1
    _drop_dead_nodes(graph)
    onnx.save_model(model, model_path)
    return rewritten // 2


# The KV buffer of a GQA graph holds this many positions unless the export says otherwise
# (`--context`); the rotary caches are built for as many.
GQA_CONTEXT = 4096


def gqa_attention(model_path: Path, config: dict, context: int = GQA_CONTEXT) -> int:
    """Replace each layer's attention (rotary, KV concat, grouped matmuls, mask, softmax)
    with onnxruntime's GroupQueryAttention; returns how many layers were rewritten.

    The rewritten graph reads and writes one static KV buffer per layer
    (`[batch, kv_heads, max_length, head_dim]`, past and present the same tensor), takes
    `seqlens_k` (int32 [batch], each row's total length - 1) and `total_sequence_length`
    (int32 scalar, read on the host) instead of `attention_mask`/`position_ids`, and rotates
    queries and keys inside the op from cos/sin caches of `context` positions. Rows of a
    batch may have different lengths without padding. Projections are found by their node
    names (`/model/layers.{i}/self_attn/{q,k,v,o}_proj/`), so the rewrite works on the fp32
    export and on a graph already quantized to int4 alike. Edits the graph in place.
    """
    import onnx

    model = onnx.load(model_path, load_external_data=False)
    graph = model.graph
    heads, kv = config["num_attention_heads"], config["num_key_value_heads"]
    head_dim = config.get("head_dim") or config["hidden_size"] // heads
    layers = _attention_layers(graph)
    if not layers:
        return 0
    _gqa_inputs(graph, kv, head_dim)
    _rotary_caches(graph, head_dim, float(config.get("rope_theta", 10000.0)), context)
    for layer, (q, k, v, o_proj) in layers.items():
        _insert_gqa(graph, layer, (q, k, v), o_proj, heads, kv)
    _fuse_rms_norms(graph)
    _drop_dead_nodes(graph)
    used = {name for node in graph.node for name in node.input}
    for unused in [i for i in graph.input if i.name not in used]:
        graph.input.remove(unused)  # attention_mask and position_ids
    for unused in [t for t in graph.initializer if t.name not in used]:
        graph.initializer.remove(unused)  # group_attention's shapes, when it ran before
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(onnx.helper.make_opsetid("com.microsoft", 1))
    onnx.save_model(model, model_path)
    return len(layers)


def _attention_layers(graph) -> dict[int, tuple[str, str, str, object]]:
    """Per layer: the q, k and v projections' outputs and the o_proj node."""
    import re

    last: dict[tuple[int, str], object] = {}
    o_proj: dict[int, object] = {}
    pattern = re.compile(r"/model/layers\.(\d+)/self_attn/([qkvo])_proj/")
    for node in graph.node:
        found = pattern.match(node.name)
        if not found:
            continue
        layer, which = int(found[1]), found[2]
        if which == "o":
            if node.op_type in ("MatMul", "MatMulNBits") and layer not in o_proj:
                o_proj[layer] = node
        else:
            last[layer, which] = node  # the bias Add follows the MatMul
    return {layer: (last[layer, "q"].output[0], last[layer, "k"].output[0],
                    last[layer, "v"].output[0], node)
            for layer, node in sorted(o_proj.items())
            if all((layer, w) in last for w in "qkv")}


def _gqa_inputs(graph, kv: int, head_dim: int) -> None:
    """seqlens_k and total_sequence_length in; past and present as the static buffer."""
    from onnx import TensorProto, helper

    graph.input.append(helper.make_tensor_value_info("seqlens_k", TensorProto.INT32,
                                                     ["batch_size"]))
    graph.input.append(helper.make_tensor_value_info("total_sequence_length",
                                                     TensorProto.INT32, []))
    for value in [*graph.input, *graph.output]:
        if value.name.startswith(("past_key_values.", "present.")):
            dims = value.type.tensor_type.shape.dim
            dims[0].dim_param, dims[2].dim_param = "batch_size", "max_length"
            dims[1].dim_value, dims[3].dim_value = kv, head_dim


def _rotary_caches(graph, head_dim: int, theta: float, context: int) -> None:
    """cos/sin of every position's rotary angles, [context, head_dim / 2] (float32; the
    fp16 pass converts them with the rest)."""
    import numpy as np
    from onnx import numpy_helper

    inv_freq = 1.0 / theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    angles = np.outer(np.arange(context, dtype=np.float64), inv_freq)
    graph.initializer.extend([
        numpy_helper.from_array(np.cos(angles).astype(np.float32), GQA_COS),
        numpy_helper.from_array(np.sin(angles).astype(np.float32), GQA_SIN),
    ])


GQA_COS, GQA_SIN = "/gqa/cos_cache", "/gqa/sin_cache"


def _insert_gqa(graph, layer: int, qkv: tuple[str, str, str], o_proj, heads: int,
                kv: int) -> None:
    """One GroupQueryAttention node before `o_proj`, writing the layer's present KV."""
    from onnx import helper

    key, value = f"present.{layer}.key", f"present.{layer}.value"
    for node in graph.node:  # the old producers of present KV become dead
        for i, out in enumerate(node.output):
            if out in (key, value):
                node.output[i] = f"{out}/replaced"
    attended = f"/model/layers.{layer}/self_attn/gqa_output"
    gqa = helper.make_node(
        "GroupQueryAttention",
        [*qkv, f"past_key_values.{layer}.key", f"past_key_values.{layer}.value", "seqlens_k",
         "total_sequence_length", GQA_COS, GQA_SIN],
        [attended, key, value], name=f"/model/layers.{layer}/self_attn/GroupQueryAttention",
        domain="com.microsoft", num_heads=heads, kv_num_heads=kv, do_rotary=1,
        rotary_interleaved=0)
    o_proj.input[0] = attended
    graph.node.insert(list(graph.node).index(o_proj), gqa)


def _fuse_rms_norms(graph) -> int:
    """Each RMSNorm (Cast, Pow, ReduceMean, Add eps, Sqrt, Div, Mul, Cast, Mul weight) as one
    SimplifiedLayerNormalization (fp32 statistics). onnxruntime fuses the fp32 graph's norms
    itself, but not the fp16 graph's, whose Casts break its pattern: 10 kernels a norm, 2 a
    layer. Returns how many were fused."""
    from onnx import helper, numpy_helper

    by_name = {n.name: n for n in graph.node}
    fused = 0
    for node in list(graph.node):
        prefix = node.name.rsplit("/", 1)[0] + "/"
        if node.op_type != "Mul" or not node.name.endswith("norm/Mul_1"):
            continue
        cast, add = by_name.get(prefix + "Cast"), by_name.get(prefix + "Add")
        eps = next((n for n in graph.node if add and n.output[0] == add.input[1]), None)
        weight = next((i for i in node.input if i.endswith("norm.weight")), None)
        if cast is None or eps is None or eps.op_type != "Constant" or weight is None:
            continue
        epsilon = float(numpy_helper.to_array(eps.attribute[0].t).reshape(-1)[0])
        norm = helper.make_node("SimplifiedLayerNormalization", [cast.input[0], weight],
                                [node.output[0]], name=prefix + "SimplifiedLayerNorm",
                                axis=-1, epsilon=epsilon, stash_type=1)
        graph.node.insert(list(graph.node).index(node), norm)
        graph.node.remove(node)
        fused += 1
    return fused


def _only_gathers_axis(graph, shape: str, axis: int) -> bool:
    """Whether every reader of a Shape output takes element `axis` of it (and only that)."""
    from onnx import numpy_helper

    constants = {n.output[0]: n for n in graph.node if n.op_type == "Constant"}
    initializers = {t.name: t for t in graph.initializer}
    readers = [n for n in graph.node if shape in n.input]
    for reader in readers:
        if reader.op_type != "Gather" or reader.input[0] != shape:
            return False
        index = reader.input[1]
        if index in initializers:
            value = numpy_helper.to_array(initializers[index])
        elif index in constants:
            value = numpy_helper.to_array(constants[index].attribute[0].t)
        else:
            return False
        if value.size != 1 or int(value.reshape(-1)[0]) not in (axis, axis - 4):
            return False
    return bool(readers)


def _drop_dead_nodes(graph) -> None:
    """Remove nodes whose outputs nothing reads (the repeat_kv chains, here)."""
    outputs = {o.name for o in graph.output}
    while True:
        used = {name for node in graph.node for name in node.input} | outputs
        dead = [n for n in graph.node if not any(o in used for o in n.output)]
        if not dead:
            return
        for node in dead:
            graph.node.remove(node)


def _save(model, out: Path) -> Path:
    """Save an onnx ModelProto with weights in one external data file beside it."""
    import onnx

    out.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, out / MODEL_FILE, save_as_external_data=True,
                    all_tensors_to_one_file=True, location=MODEL_FILE + ".data",
                    size_threshold=1024)
    return out / MODEL_FILE


def quantize_int4(fp32_model: Path, out: Path) -> Path:
    """Weight-only int4 (MatMulNBits, block 32 with a zero point each) of every MatMul with
    constant weights, lm_head included."""
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    logging.getLogger("onnxruntime.quantization").setLevel(logging.WARNING)
    quantizer = MatMulNBitsQuantizer(onnx.load(fp32_model), block_size=INT4_BLOCK_SIZE,
                                     is_symmetric=INT4_SYMMETRIC,
                                     accuracy_level=INT4_ACCURACY_LEVEL)
    quantizer.process()
    return _save(quantizer.model.model, out)


def convert_fp16(fp32_model: Path, out: Path) -> Path:
    """fp16 weights, activations and KV cache (for CUDA); token ids stay int64."""
    import onnx
    from onnxruntime.transformers.onnx_model import OnnxModel

    logging.getLogger("onnxruntime.transformers").setLevel(logging.WARNING)
    model = OnnxModel(onnx.load(fp32_model))
    model.convert_float_to_float16(keep_io_types=False, use_symbolic_shape_infer=True)
    return _save(model.model, out)


def count_ops(model_path: Path, op_type: str) -> int:
    import onnx

    graph = onnx.load(model_path, load_external_data=False).graph
    return sum(node.op_type == op_type for node in graph.node)
