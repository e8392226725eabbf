"""Build the training folder used for the README's LoRA figures: documented functions from
the `algorithms` package on PyPI (keon/algorithms, MIT), minus every file that touches a
problem of `vibe-ls bench --quality` (the first 40 Easy ones, so a run of 20 or 40 stays
disjoint), a seeded sample of files up to about N examples whose prompts fit a CPU budget.

    pip download --no-deps algorithms==1.0.1 -d /tmp/alg
    python scripts/tune_data.py /tmp/alg/algorithms-1.0.1-py3-none-any.whl DIR --examples 96
    vibe-ls tune DIR --model qwen2.5-coder-0.5b --name algorithms
"""

from __future__ import annotations

import argparse
import ast
import random
import re
import shutil
import zipfile
from pathlib import Path

from vibe_ls.bench.quality import select

COMMON = {"of", "the", "a", "an", "in", "to", "and", "by", "is", "if", "for", "with", "two",
          "number", "numbers", "string", "strings", "array", "arrays", "sum", "values", "value",
          "maximum", "minimum", "largest", "smallest", "find", "count", "check", "list"}


def names(path: Path) -> set[str]:
    """The file's stem and every function name in it, split into words."""
    words = set(re.split(r"[_\W]+", path.stem.lower()))
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            words |= set(re.split(r"_+", node.name.lower()))
    return words - {""}


def touches(words: set[str], problems: list[str]) -> str | None:
    """The quality problem whose distinctive words all appear in `words`, if any."""
    for problem in problems:
        key = {w for w in problem.split("_") if w not in COMMON} or set(problem.split("_"))
        if key <= words:
            return problem
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--examples", type=int, default=96)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    problems = [p["problem_name"] for p in select(40, "Easy")]
    work = args.out.with_name(args.out.name + ".unpacked")
    shutil.rmtree(work, ignore_errors=True)
    zipfile.ZipFile(args.wheel).extractall(work)
    files, left_out = [], []
    for path in sorted(work.rglob("*.py")):
        if path.name == "__init__.py" or "test" in path.parts:
            continue
        try:
            hit = touches(names(path), problems)
        except SyntaxError:
            continue
        (left_out.append(f"{path.relative_to(work)} ({hit})") if hit else files.append(path))
    random.Random(args.seed).shuffle(files)
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    taken = 0
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        documented = sum(1 for n in ast.walk(tree)
                         if isinstance(n, ast.FunctionDef) and ast.get_docstring(n))
        if not documented or len(path.read_text(encoding="utf-8")) > 4000:
            continue  # long files make long prompts: CPU time per step grows with them
        target = args.out / "_".join(path.relative_to(work).parts[1:])
        shutil.copy(path, target)
        taken += documented
        if taken >= args.examples:
            break
    shutil.rmtree(work)
    print(f"{len(list(args.out.iterdir()))} files, about {taken} documented functions, in "
          f"{args.out}; left out as touching the quality problems: {len(left_out)}")
    for line in left_out:
        print("  ", line)


if __name__ == "__main__":
    main()
