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
