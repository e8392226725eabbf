"""The export pipeline: checkpoint (HF dir, GGUF file or hub id) -> self-describing ONNX model dir.

Installed as the `vibe_ls_export` package with the `export` extra. It is the only code that
imports torch, transformers and optimum; the server and engine never import it.
"""
