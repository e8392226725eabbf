"""`vibe-ls doctor`: what is installed, what works, and why not."""

from __future__ import annotations

import time
from importlib import metadata
from pathlib import Path

from vibe_ls import home
from vibe_ls.errors import VibeError
from vibe_ls.manifest import read_manifest, verify

SMOKE_PROMPT = "def add(a: int, b: int) -> int:\n"
DEMO = ("def three_sum_closest(nums: list[int], target: int) -> int:\n"
        "    # TODO: find three numbers whose sum is closest to target\n"
        "    pass\n")


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def runtime_report() -> list[str]:
    import onnxruntime as ort

    from vibe_ls.engine.providers import cuda_status

    builds = {p: v for p in ("onnxruntime-gpu", "onnxruntime") if (v := _version(p))}
    lines = [f"onnxruntime: {ort.__version__} ({', '.join(f'{p} {v}' for p, v in builds.items())})",
             f"providers: {', '.join(ort.get_available_providers())}"]
    if len(builds) > 1:
        lines.append("WARNING: onnxruntime and onnxruntime-gpu are both installed and share one "
                     "import name; `pip uninstall onnxruntime` and reinstall onnxruntime-gpu")
    usable, why = cuda_status()
    lines.append(f"CUDA: {'usable' if usable else 'not usable'} ({why})")
    return lines


def sandbox_report() -> list[str]:
    """Each layer of the sandbox that runs model-written code, present or missing, as seen
    from inside it; where there is none, why and how to get one."""
    from vibe_ls.verify import cgroup, jail, sandbox

    why = sandbox.unavailable()
    lines = [f"sandbox: {why or 'bubblewrap ' + (jail.bwrap() or '')}"]
    if why:
        lines.append("  implementations are not verified until it is installed")
    for layer, present in sandbox.isolation().items():
        lines.append(f"  {layer}: {'present' if present else 'MISSING'}")
    abi = jail.landlock_abi()
    lines.append(f"  landlock ABI {abi}: " + (
        "files" + ", TCP" * (abi >= 4) + ", signals and abstract sockets" * (abi >= 6)
        if abi else "this kernel has none (the bubblewrap layers still hold)"))
    lines.append(f"  memory bounded {cgroup.describe()}")
    return lines


def smoke_test(model_dir: Path) -> tuple[str, str]:
    """Load the model as the server does (device auto) and greedily generate a few tokens;
    returns what it wrote, and the model and device actually in use."""
    from vibe_ls.engine import Engine, Request

    start = time.monotonic()
    engine = Engine(model_dir, device="auto", check=False)  # the checksums were just verified
    ids = engine.chat.encode(SMOKE_PROMPT)
    out = engine.generate(Request(ids, max_new_tokens=12)).tokens
    took = time.monotonic() - start
    manifest = engine.manifest
    attention = "GroupQueryAttention, static KV buffer" if manifest.attention == "gqa" else \
        "optimum attention"
    why = f" ({engine.fallback_reason})" if engine.fallback_reason else ""
    in_use = f"{model_dir.name} ({manifest.precision}, {attention}) on {engine.provider}{why}"
    return f"{engine.chat.decode(out)!r} ({len(out)} tokens, {took:.1f} s with loading)", in_use


def demo(model: str) -> str:
    """The main job on a built-in TODO: what the Implement code action would insert."""
    from vibe_ls import edits
    from vibe_ls.assist import Assistant, Target
    from vibe_ls.settings import Settings

    assistant = Assistant(Settings(model=model, device="auto"))
    proposal = assistant.implement(Target(DEMO, "python", "demo.py"), 1)
    return edits.apply(DEMO, proposal.edits) + f"({proposal.summary})"


def model_report(model_dir: Path) -> tuple[bool, list[str]]:
    try:
        manifest = read_manifest(model_dir)
        problems = verify(model_dir, manifest)
    except VibeError as exc:
        return False, [f"{model_dir.name}: {exc.message}"]
    parity = manifest.parity
    head = (f"{model_dir.name}: {manifest.architecture}, {manifest.precision}, parity top-1 "
            f"{parity.get('top1_agreement', '?')}, from {manifest.source[:60]}")
    if problems:
        return False, [head, f"  checksums: FAILED ({len(problems)}: {problems[0]})"]
    return True, [head, "  checksums: verified"]


def adapter_report(model_dir: Path) -> list[str]:
    """A line per LoRA adapter made for the model: what it is, and whether it verifies."""
    from vibe_ls.adapters import check_adapter, list_adapters

    return [f"  adapter {check_adapter(directory, manifest)}"
            for directory, manifest in list_adapters(model_dir.name)]


def doctor(default: str = home.DEFAULT_MODEL, run_demo: bool = False) -> int:
    """Print the report; return 0 when the default model is usable, 1 otherwise."""
    if default == home.DEFAULT_MODEL:  # what setup chose for this hardware
        default = home.default_model()
    print(f"vibe-ls {_version('vibe-ls')}, VIBE_LS_HOME={home.home()}")
    print("\n".join(runtime_report()))
    print("\n".join(sandbox_report()))
    found = sorted(p for p in home.models_dir().glob("*") if p.is_dir()) if \
        home.models_dir().is_dir() else []
    default_ok = False
    for model_dir in found:
        ok, lines = model_report(model_dir)
        print("\n".join(lines + adapter_report(model_dir)))
        if model_dir.name == default and ok:
            try:
                wrote, in_use = smoke_test(model_dir)
                print(f"  smoke test: {wrote}")
                print(f"in use: {in_use}")
                default_ok = True
            except Exception as exc:  # report any load/generation failure, don't crash
                print(f"  smoke test: FAILED ({type(exc).__name__}: {exc})")
    if not found:
        print("models: none installed")
    if not default_ok:
        print(f"the default model {default} is not usable: run `vibe-ls setup`")
    elif run_demo:
        print(f"\nImplement TODO on a demo file with {default}:\n{demo(default)}")
    return 0 if default_ok else 1
