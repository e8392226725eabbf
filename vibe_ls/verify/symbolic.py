"""A second search for an input where a rewrite differs from the original: CrossHair's
`diffbehavior`, symbolic execution on the Z3 solver, within a small time budget, in the
sandbox. Random inputs miss a difference that only a narrow condition reaches (a value the
rewrite special-cases, two inputs that must be equal); a solver asks for that condition.

Both functions are called through a pair of wrappers with the same annotated signature (the
original's type hints, or the types the Hypothesis run guessed), so CrossHair knows what to
make symbolic. A difference it reports is an input, run again by `differential` before it
counts: the message is then the same as for any other difference.
"""

from __future__ import annotations

import ast
import importlib.util
import logging
import re

from vibe_ls.verify import checks

log = logging.getLogger(__name__)

BUDGET_S = 3.0  # CrossHair's per-condition timeout; a run takes about 2 s more to start
_GIVEN = re.compile(r"^Given: \((?P<args>.*)\),?\s*$", re.MULTILINE)


def available() -> str:
    """Why the symbolic search cannot run here ("" when it can)."""
    if importlib.util.find_spec("crosshair") is None:
        return "CrossHair is not installed (pip install crosshair-tool)"
    return ""


def annotations(source: str, function: str, guessed: str) -> list[tuple[str, str]] | None:
    """(parameter, annotation) for every parameter of `function`, from its hints or the
    guessed types (`xs as list[int], k as int`); None where one has neither."""
    node = checks.find_function(source, function)
    if node is None:
        return None
    guesses = dict(part.split(" as ", 1) for part in re.split(r", (?=\w+ as )", guessed)
                   if " as " in part)
    found = []
    for arg in node.args.args:
        if arg.arg in ("self", "cls"):
            continue
        hint = ast.unparse(arg.annotation) if arg.annotation else guesses.get(arg.arg)
        if hint is None:
            return None
        found.append((arg.arg, hint))
    return found


def pair(source: str, function: str, params: list[tuple[str, str]]) -> str:
    """The wrappers module: `before` calls the original, `after` the rewrite."""
    target = checks.call_target(source, function)
    signature = ", ".join(f"{name}: {hint}" for name, hint in params)
    names = ", ".join(name for name, _ in params)
    return ("from typing import *\nfrom vibe_ls_original import *\n"
            "import vibe_ls_original, vibe_ls_rewrite\n\n\n"
            f"def before({signature}):\n    return vibe_ls_original.{target}({names})\n\n\n"
            f"def after({signature}):\n    return vibe_ls_rewrite.{target}({names})\n")


_SCRIPT = '''
import sys
from crosshair.main import main
sys.argv = ["crosshair", "diffbehavior", "vibe_ls_pair.before", "vibe_ls_pair.after",
            "--per_condition_timeout", "{budget}"]
try:
    main()
except SystemExit:
    pass
'''


def search(original: str, rewrite: str, function: str, guessed: str = "",
           budget_s: float = BUDGET_S) -> str | None:
    """An input (`f(xs=[1, 1])`) where CrossHair found the two differ, or None."""
    from vibe_ls.verify import sandbox

    params = annotations(original, function, guessed)
    if params is None or available():
        return None
    files = {"vibe_ls_original.py": original, "vibe_ls_rewrite.py": rewrite,
             "vibe_ls_pair.py": pair(original, function, params)}
    outcome = sandbox.run_python(_SCRIPT.format(budget=budget_s), files=files,
                                 limits=sandbox.Limits(cpu_s=budget_s + 8,
                                                       wall_s=budget_s + 15,
                                                       memory_mb=2048, ctypes=True))
    found = _GIVEN.search(outcome.stdout)
    log.info("crosshair: %s", (outcome.stdout or outcome.stderr or outcome.reason)[-400:])
    return f"f({found['args']})" if found else None
