"""The cost of the sandbox: the median wall time of one run of a trivial Python candidate and
of a compiled C program, through the sandbox and as a plain subprocess of the same
interpreter or binary; the difference is what isolation adds to every run."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time

PYTHON_CANDIDATE = "def add(a, b):\n    return a + b\n\nprint(add(2, 3))\n"
C_CANDIDATE = '#include <stdio.h>\nint main(void) { printf("%d\\n", 2 + 3); return 0; }\n'


def _median_ms(run, repeats: int) -> float:
    run()  # warm: the sandbox's one-time probe, the page cache
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _python(repeats: int) -> dict:
    from vibe_ls.verify import sandbox

    def plain() -> None:
        subprocess.run([sys.executable, "-I", "-B", "-c", PYTHON_CANDIDATE], check=True,
                       capture_output=True)

    def boxed() -> None:
        assert sandbox.run_python(PYTHON_CANDIDATE).stdout == "5\n"

    return _row(_median_ms(plain, repeats), _median_ms(boxed, repeats))


def _c(repeats: int) -> dict:
    from vibe_ls.verify import sandbox

    gcc = shutil.which("gcc")
    if gcc is None:
        return {"skipped": "no gcc"}
    with tempfile.TemporaryDirectory() as tmp, sandbox.Workspace({"p.c": C_CANDIDATE}) as box:
        subprocess.run([gcc, "-O2", "-o", f"{tmp}/p", "-x", "c", "-"], input=C_CANDIDATE,
                       text=True, check=True)
        built = box.run([gcc, "-O2", "-o", "p", "p.c"],
                        limits=sandbox.Limits(cpu_s=30, wall_s=60, processes=16, file_mb=64))
        if built.returncode != 0:
            return {"skipped": f"gcc failed in the sandbox: {built.stderr[:200]}"}
        program = str(box.work / "p")
        return _row(_median_ms(lambda: subprocess.run([f"{tmp}/p"], check=True,
                                                      capture_output=True), repeats),
                    _median_ms(lambda: box.run([program], keep=False), repeats))


def _row(plain_ms: float, sandboxed_ms: float) -> dict:
    return {"plain_ms": plain_ms, "sandboxed_ms": sandboxed_ms,
            "added_ms": sandboxed_ms - plain_ms}


def isolation_cost(repeats: int = 30) -> dict:
    from vibe_ls.verify import sandbox

    why = sandbox.unavailable()
    if why:
        return {"skipped": why}
    return {"repeats": repeats, "python": _python(repeats), "c": _c(repeats),
            "layers": sandbox.isolation()}


def print_isolation(report: dict) -> None:
    if "skipped" in report:
        print(f"sandbox cost: skipped ({report['skipped']})")
        return
    print(f"sandbox cost, median of {report['repeats']} runs (target: under 30 ms added):")
    for name in ("python", "c"):
        row = report[name]
        if "skipped" in row:
            print(f"  {name:<7} skipped: {row['skipped']}")
            continue
        print(f"  {name:<7} plain {row['plain_ms']:6.1f} ms   sandboxed "
              f"{row['sandboxed_ms']:6.1f} ms   added {row['added_ms']:+6.1f} ms")
    missing = [layer for layer, present in report["layers"].items() if not present]
    print(f"  layers: {'all present' if not missing else 'MISSING ' + ', '.join(missing)}")
