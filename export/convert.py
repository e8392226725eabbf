"""ONNX export with optimum, and the precision passes that follow it (int4, fp16)."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from vibe_ls.errors import VibeError

log = logging.getLogger(__name__)

MODEL_FILE = "model.onnx"
INT4_BLOCK_SIZE = 32
# accuracy_level 4: int8 activations in the MatMulNBits kernel, the fastest CPU path.
INT4_ACCURACY_LEVEL = 4


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


def _save(model, out: Path) -> Path:
    """Save an onnx ModelProto with weights in one external data file beside it."""
    import onnx

    out.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, out / MODEL_FILE, save_as_external_data=True,
                    all_tensors_to_one_file=True, location=MODEL_FILE + ".data",
                    size_threshold=1024)
    return out / MODEL_FILE


def quantize_int4(fp32_model: Path, out: Path) -> Path:
    """Weight-only int4 (MatMulNBits, symmetric, block 32) of every MatMul with constant
    weights, lm_head included."""
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    logging.getLogger("onnxruntime.quantization").setLevel(logging.WARNING)
    quantizer = MatMulNBitsQuantizer(onnx.load(fp32_model), block_size=INT4_BLOCK_SIZE,
                                     is_symmetric=True, accuracy_level=INT4_ACCURACY_LEVEL)
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
