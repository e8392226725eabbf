#!/usr/bin/env bash
# The GPU checks of issue 24 in one call of a few minutes on a lent H100/H200:
# onnxruntime-gpu from chunks, tests/test_gpu.py on the tiny models, and `vibe-ls bench
# --device cuda --compare transformers` on whatever real GQA models were brought along.
# Everything it finds and measures goes to $OUT (the device tool brings that folder back).
#
# The GPU machine has no network and its own Python (3.12, PyTorch with CUDA 13, onnxruntime
# 1.30 CPU-only). What it needs comes in a folder (default: shared/gpu), each file < 64 MiB.
# Prepare it on this (networked) machine, before the GPU session:
#
#   G=shared/gpu; mkdir -p $G/chunks $G/wheels
#   # 1. onnxruntime-gpu for cp312, in pieces (the wheel is ~255 MB):
#   pip download onnxruntime-gpu==1.31.1 --no-deps --python-version 3.12 \
#       --only-binary=:all: --platform manylinux_2_28_x86_64 -d /tmp/ortgpu
#   W=$(ls /tmp/ortgpu/onnxruntime_gpu-*.whl); split -b 60M "$W" "$G/chunks/$(basename "$W").part-"
#   # 2. the pure and cp312 wheels vibe-ls and its tests import that the machine may lack:
#   pip download --python-version 3.12 --only-binary=:all: --platform manylinux_2_28_x86_64 \
#       -d $G/wheels pygls lsprotocol tokenizers jinja2 tree-sitter tree-sitter-python \
#       pytest pytest-asyncio pytest-lsp cattrs attrs
#   # 3. the tiny test models (tiny-fp32/int4/fp16, tiny-gqa-fp32/fp16, lsp-home):
#   python -m tests.conftest $G/prebuilt
#   # 4. optional, a real model: one GQA model directory as a tar in pieces, and its GGUF
#   #    (for the transformers peer), e.g. the 0.5B (the 1.5B fp16 is ~3 GB: many pieces):
#   vibe-ls export ~/.cache/vibe-ls/weights/qwen2.5-coder-0.5b.gguf --precision fp16 \
#       --attention gqa --out /tmp/q05-gqa-fp16 --name qwen2.5-coder-0.5b
#   tar -C /tmp -cf - q05-gqa-fp16 | split -b 60M - $G/model/q05-gqa-fp16.tar.part-
#   split -b 60M ~/.cache/vibe-ls/weights/qwen2.5-coder-0.5b.gguf \
#       $G/weights/qwen2.5-coder-0.5b.gguf.part-
#
# Run it (device tool, one call, timeout_s 480): bash scripts/gpu_check.sh shared/gpu
set -u
GPU=$(cd "${1:-shared/gpu}" && pwd) || { echo "no folder ${1:-shared/gpu}"; exit 2; }
OUT=${OUT:-/tmp/gpu-check-out}
WORK=${WORK:-/tmp/gpu-check}
mkdir -p "$OUT" "$WORK"
exec > >(tee "$OUT/log.txt") 2>&1
PY=${PYTHON:-python3}
step() { echo; echo "=== $* ($(date -u +%T))"; }

step "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
$PY --version

step "onnxruntime-gpu from $GPU/chunks"
SITE=$WORK/site
mkdir -p "$SITE"
first=$(ls "$GPU"/chunks/*.part-* 2>/dev/null | head -1)
if [ -n "$first" ]; then
    wheel=$WORK/$(basename "${first%.part-*}")
    cat "${first%.part-*}".part-* > "$wheel"
    $PY -m pip install --quiet --no-deps --target "$SITE" "$wheel" || echo "FAILED: pip install $wheel"
else
    echo "no chunks: using the machine's onnxruntime (CPU-only there: CUDA tests will skip)"
fi
if ls "$GPU"/wheels/*.whl >/dev/null 2>&1; then
    $PY -m pip install --quiet --no-deps --target "$SITE" "$GPU"/wheels/*.whl \
        || echo "FAILED: some wheels from $GPU/wheels"
fi
export PYTHONPATH=$SITE:$PWD
export VIBE_LS_HOME=$WORK/home
$PY - <<'EOF' | tee "$OUT/providers.txt"
import onnxruntime as ort
from vibe_ls.engine.providers import cuda_status
print("onnxruntime", ort.__version__, ort.get_available_providers())
print("CUDA:", cuda_status())
EOF

step "tests/test_gpu.py on the tiny models"
export VIBE_LS_TEST_MODELS=$GPU/prebuilt
timeout 240 $PY -m pytest tests/test_gpu.py -q -rs -p no:cacheprovider \
    --junitxml="$OUT/test_gpu.xml" 2>&1 | tail -40

step "memcpy nodes and node placement in the GQA fp16 step (log_severity_level=1)"
timeout 60 $PY - <<'EOF' > "$OUT/placement.txt" 2>&1
import os, onnxruntime as ort
options = ort.SessionOptions()
options.log_severity_level = 1
model = os.path.join(os.environ["VIBE_LS_TEST_MODELS"], "tiny-gqa-fp16", "model.onnx")
ort.InferenceSession(model, options, providers=[("CUDAExecutionProvider",
                     {"enable_cuda_graph": "1"}), "CPUExecutionProvider"])
EOF
grep -i -E "memcpy|placed on|CPUExecutionProvider" "$OUT/placement.txt" | head -20

step "real models brought along"
mkdir -p "$VIBE_LS_HOME/models" "$VIBE_LS_HOME/weights"
for first in "$GPU"/model/*.tar.part-aa; do
    [ -e "$first" ] || continue
    cat "${first%.part-aa}".part-* | tar -C "$VIBE_LS_HOME/models" -xf -
done
for first in "$GPU"/weights/*.part-aa; do
    [ -e "$first" ] || continue
    cat "${first%.part-aa}".part-* > "$VIBE_LS_HOME/weights/$(basename "${first%.part-aa}")"
done
ls "$VIBE_LS_HOME/models" | tee "$OUT/models.txt"
for model in "$VIBE_LS_HOME"/models/*/; do
    [ -d "$model" ] || continue
    name=$(basename "$model")
    step "bench $name on cuda against transformers"
    timeout 200 $PY -m vibe_ls bench --model "$model" --device cuda --compare transformers \
        --json "$OUT/bench-$name.json" 2>&1 | tail -25
done
step "done"
